package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	// Time zones are checked against the embedded database so a container without
	// /usr/share/zoneinfo accepts the same names.
	_ "time/tzdata"

	"github.com/jackc/pgx/v5"

	"paysplit/internal/money"
	"paysplit/internal/report"
)

// maxReportRecipients bounds a client's report recipients.
const maxReportRecipients = 20

// ReportSettings say whether a client gets weekly reports, where, and in which time zone its
// week is cut (the schedule runs Monday 06:00 there).
type ReportSettings struct {
	ClientID   string   `json:"client_id"`
	TimeZone   string   `json:"time_zone"`
	Recipients []string `json:"recipients"`
	Enabled    bool     `json:"enabled"`
	// UpdatedAt is nil for settings nobody set (the defaults), never Go's zero time, which reads
	// as a save made in year 1.
	UpdatedAt *time.Time `json:"updated_at"`
}

// DefaultReportSettings are a client's settings until an admin sets them: reports in UTC, to
// nobody yet (they are still generated and listed).
func DefaultReportSettings(clientID string) ReportSettings {
	return ReportSettings{ClientID: clientID, TimeZone: "UTC", Recipients: []string{}, Enabled: true}
}

// Normalize checks the settings and puts them in canonical form: the zone as named, recipients
// as bare lower-cased addresses without duplicates, in the order given.
func (r ReportSettings) Normalize() (ReportSettings, error) {
	if err := ValidID("client_id", r.ClientID); err != nil {
		return r, err
	}
	if r.TimeZone == "" {
		r.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(r.TimeZone); err != nil || r.TimeZone == "Local" || len(r.TimeZone) > 64 {
		return r, fmt.Errorf("%w: time_zone %q is not an IANA time zone such as Europe/Berlin", ErrInvalid, r.TimeZone)
	}
	if len(r.Recipients) > maxReportRecipients {
		return r, fmt.Errorf("%w: at most %d recipients", ErrInvalid, maxReportRecipients)
	}
	out := make([]string, 0, len(r.Recipients))
	for i, raw := range r.Recipients {
		a, err := mail.ParseAddress(strings.TrimSpace(raw))
		if err != nil || a.Name != "" || len(a.Address) > 254 {
			// The address is not echoed: it may be personal data.
			return r, fmt.Errorf("%w: recipients[%d] is not a plain email address like reports@example.com", ErrInvalid, i)
		}
		addr := strings.ToLower(a.Address)
		if !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	r.Recipients = out
	return r, nil
}

// GetReportSettings reads a client's report settings, or the defaults when none were set.
func (s *Store) GetReportSettings(ctx context.Context, clientID string) (ReportSettings, error) {
	r := DefaultReportSettings(clientID)
	err := s.pool.QueryRow(ctx, `SELECT time_zone, recipients, enabled, updated_at FROM report_settings WHERE client_id = $1`,
		clientID).Scan(&r.TimeZone, &r.Recipients, &r.Enabled, &r.UpdatedAt)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("report settings of %s: %w", clientID, err)
	}
	if _, err := s.GetClient(ctx, clientID); err != nil {
		return r, err
	}
	return r, nil
}

// TxID is the ID of the transaction s runs in (pg_current_xact_id): work started elsewhere before
// the transaction commits (the report run of a zone move) learns from it later whether it did
// (ReportZoneMoveCommitted).
func (s *Store) TxID(ctx context.Context) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&id); err != nil {
		return "", fmt.Errorf("transaction id: %w", err)
	}
	return id, nil
}

// ReportZoneMoveCommitted says whether moving clientID's reports to zone in transaction txID (an
// admin's audited change, which holds the client's audit lock until it ends) took effect: it
// waits for that transaction to end, then is true when it committed, or when the client's zone
// is zone anyway (the admin moved it again, and that move committed). False means the move
// never happened: the client's own zone makes its reports.
func (s *Store) ReportZoneMoveCommitted(ctx context.Context, clientID, zone, txID string) (bool, error) {
	var committed bool
	err := s.InTx(ctx, func(tx *Store) error {
		if err := tx.LockTarget(ctx, "client:"+clientID); err != nil {
			return err
		}
		// NULL when the transaction is too old for Postgres to know; the zone decides then.
		var status *string
		if err := tx.pool.QueryRow(ctx, `SELECT pg_xact_status($1::xid8)`, txID).Scan(&status); err != nil {
			return fmt.Errorf("zone move of %s: status of transaction %s: %w", clientID, txID, err)
		}
		switch {
		case status != nil && *status == "committed":
			committed = true
			return nil
		case status != nil && *status == "in progress":
			// Not a change audited under the client's lock; a retry finds it ended.
			return fmt.Errorf("zone move of %s: transaction %s still in progress", clientID, txID)
		}
		settings, err := tx.GetReportSettings(ctx, clientID)
		committed = settings.TimeZone == zone
		return err
	})
	return committed, err
}

// PutReportSettings writes a client's report settings.
func (s *Store) PutReportSettings(ctx context.Context, r ReportSettings) (ReportSettings, error) {
	r, err := r.Normalize()
	if err != nil {
		return r, err
	}
	err = s.pool.QueryRow(ctx, `
		INSERT INTO report_settings (client_id, time_zone, recipients, enabled) VALUES ($1, $2, $3, $4)
		ON CONFLICT (client_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, recipients = EXCLUDED.recipients,
			enabled = EXCLUDED.enabled, updated_at = now()
		RETURNING updated_at`, r.ClientID, r.TimeZone, r.Recipients, r.Enabled).Scan(&r.UpdatedAt)
	if isForeignKeyViolation(err) {
		return r, fmt.Errorf("%w: client %q does not exist", ErrNotFound, r.ClientID)
	}
	if err != nil {
		return r, fmt.Errorf("put report settings of %s: %w", r.ClientID, err)
	}
	return r, nil
}

// ReportTimeZones are the zones weekly reports run in: every zone an enabled client uses, and
// UTC (clients without settings), sorted. An offboarded client's zone stays: its run then lists
// no one there, and the schedule is in place when the client comes back.
func (s *Store) ReportTimeZones(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT time_zone FROM report_settings WHERE enabled
		UNION SELECT 'UTC' ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("report time zones: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ReportClients are the clients whose weekly report runs in zone, by ID: the active ones with
// reports enabled (an offboarded client gets none, whatever its report settings say).
func (s *Store) ReportClients(ctx context.Context, zone string) ([]string, error) {
	return s.ReportClientsPage(ctx, zone, "", 0)
}

// ReportClientsPage are the first limit clients (all when limit is 0) whose weekly report runs in
// zone with an ID after after, by ID: a zone's run lists its clients a page per run, so a zone
// of any size never puts all its IDs into one workflow history event.
func (s *Store) ReportClientsPage(ctx context.Context, zone, after string, limit int) ([]string, error) {
	// Byte order (COLLATE "C"), as the weekly run sorts and compares the IDs: under the
	// database's own collation (en_US.UTF-8 on RDS) 'B' > 'a', and a page boundary the two
	// orders disagree on would skip clients.
	rows, err := s.pool.Query(ctx, `SELECT c.id FROM clients c LEFT JOIN report_settings r ON r.client_id = c.id
		WHERE c.status = 'active' AND COALESCE(r.enabled, true) AND COALESCE(r.time_zone, 'UTC') = $1 AND c.id COLLATE "C" > $2
		ORDER BY c.id COLLATE "C" LIMIT NULLIF($3::int, 0)`, zone, after, limit)
	if err != nil {
		return nil, fmt.Errorf("report clients in %s after %q: %w", zone, after, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ReportDelivery is where one client's report of one week stands.
type ReportDelivery struct {
	ClientID    string     `json:"client_id"`
	ISOWeek     string     `json:"iso_week"`
	SHA256      string     `json:"sha256"`
	Bytes       int        `json:"bytes"`
	Pages       int        `json:"pages"`
	GeneratedAt time.Time  `json:"generated_at"`
	S3Key       string     `json:"-"`
	Uploaded    bool       `json:"uploaded"` // the file in S3 is the one generated last
	UploadedAt  *time.Time `json:"uploaded_at"`
	SendsWanted int        `json:"sends_wanted"`
	SendsDone   int        `json:"sends_done"`
	EmailedAt   *time.Time `json:"emailed_at"`
	MessageID   string     `json:"message_id"`
	// Recipients is how many recipients the last send went to; RefusedRecipients are those the
	// SMTP server refused for good (no such mailbox), as positions (0-based) in the client's
	// report recipients as they were at that send. The addresses stay in report_settings.
	Recipients        int   `json:"recipients"`
	RefusedRecipients []int `json:"refused_recipients"`
	// SentByRun is the Temporal run whose email step made the last send (empty before 00033).
	SentByRun string `json:"-"`
	// Data is the report's content; only GetReportDelivery fills it.
	Data *report.Data `json:"-"`
}

const deliveryColumns = `client_id, iso_week, pdf_sha256, pdf_bytes, pages, generated_at, s3_key,
	uploaded_sha256 = pdf_sha256, uploaded_at, sends_wanted, sends_done, emailed_at, message_id, recipients,
	refused_recipients, sent_by_run`

func scanDelivery(row pgx.Row, extra ...any) (ReportDelivery, error) {
	var d ReportDelivery
	err := row.Scan(append([]any{&d.ClientID, &d.ISOWeek, &d.SHA256, &d.Bytes, &d.Pages, &d.GeneratedAt, &d.S3Key,
		&d.Uploaded, &d.UploadedAt, &d.SendsWanted, &d.SendsDone, &d.EmailedAt, &d.MessageID, &d.Recipients,
		&d.RefusedRecipients, &d.SentByRun}, extra...)...)
	return d, err
}

// GeneratedReport is a rendered report to record.
type GeneratedReport struct {
	Data report.Data
	PDF  report.PDF
	At   time.Time
}

// SaveGeneratedReport records a rendered report for its client and week, replacing an earlier
// one (regenerate); upload and email state are kept, so an unchanged file is not uploaded again
// and a regenerated report is not sent again unless asked.
func (s *Store) SaveGeneratedReport(ctx context.Context, g GeneratedReport) error {
	data, err := json.Marshal(g.Data)
	if err != nil {
		return fmt.Errorf("encode report data: %w", err)
	}
	week := g.Data.Week.String()
	_, err = s.pool.Exec(ctx, `
		INSERT INTO report_deliveries (client_id, iso_week, data, pdf, pdf_sha256, pdf_bytes, pages, generated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (client_id, iso_week) DO UPDATE SET data = EXCLUDED.data,
			pdf = CASE WHEN report_deliveries.uploaded_sha256 = EXCLUDED.pdf_sha256 THEN NULL ELSE EXCLUDED.pdf END,
			pdf_sha256 = EXCLUDED.pdf_sha256, pdf_bytes = EXCLUDED.pdf_bytes, pages = EXCLUDED.pages,
			generated_at = EXCLUDED.generated_at, updated_at = now()`,
		g.Data.ClientID, week, data, g.PDF.Bytes, g.PDF.SHA256(), len(g.PDF.Bytes), g.PDF.Pages, g.At)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("%w: client %q does not exist", ErrNotFound, g.Data.ClientID)
	}
	if err != nil {
		return fmt.Errorf("save report %s %s: %w", g.Data.ClientID, week, err)
	}
	return nil
}

// GetReportDelivery reads one delivery with its data.
func (s *Store) GetReportDelivery(ctx context.Context, clientID, week string) (ReportDelivery, error) {
	var raw []byte
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+`, data FROM report_deliveries
		WHERE client_id = $1 AND iso_week = $2`, clientID, week), &raw)
	if err != nil {
		return d, notFound(err, "report "+clientID+" "+week)
	}
	var data report.Data
	if err := json.Unmarshal(raw, &data); err != nil {
		return d, fmt.Errorf("decode report data %s %s: %w", clientID, week, err)
	}
	d.Data = &data
	return d, nil
}

// PendingReportPDF returns the rendered file while it is not in S3 yet; nil once it is.
func (s *Store) PendingReportPDF(ctx context.Context, clientID, week string) ([]byte, error) {
	var pdf []byte
	err := s.pool.QueryRow(ctx, `SELECT pdf FROM report_deliveries WHERE client_id = $1 AND iso_week = $2
		AND uploaded_sha256 <> pdf_sha256`, clientID, week).Scan(&pdf)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report file %s %s: %w", clientID, week, err)
	}
	return pdf, nil
}

// MarkReportUploaded records that the file with digest sha is in S3 under key, and lists it in
// `reports` for the API, in one transaction. The local copy is dropped once S3 has it.
func (s *Store) MarkReportUploaded(ctx context.Context, clientID, week, key, sha string) error {
	return s.InTx(ctx, func(tx *Store) error {
		tag, err := tx.pool.Exec(ctx, `UPDATE report_deliveries SET s3_key = $3, uploaded_sha256 = $4, uploaded_at = now(),
				pdf = CASE WHEN pdf_sha256 = $4 THEN NULL ELSE pdf END, updated_at = now()
			WHERE client_id = $1 AND iso_week = $2`, clientID, week, key, sha)
		if err != nil {
			return fmt.Errorf("mark report %s %s uploaded: %w", clientID, week, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("report %s %s: %w", clientID, week, ErrNotFound)
		}
		return tx.SaveReport(ctx, Report{ClientID: clientID, ISOWeek: week, S3Key: key})
	})
}

// MarkReportRestored records a report file that was gone from S3 (or whose local copy was cleared
// while S3 held another version), rendered again from the delivery's data and put under key, as
// the delivery's file and uploaded: the render may not
// be byte for byte the one generated (an older release's layout, other fallback fonts), and
// recording only its digest as uploaded left the delivery "not uploaded" with no local copy, so
// every later send of the week failed. generatedSHA is the digest the caller read; a delivery
// regenerated since is left alone (an error: the caller's retry reads it again).
func (s *Store) MarkReportRestored(ctx context.Context, clientID, week, key, generatedSHA string, pdf report.PDF) error {
	return s.InTx(ctx, func(tx *Store) error {
		tag, err := tx.pool.Exec(ctx, `UPDATE report_deliveries SET pdf = NULL, pdf_sha256 = $4, pdf_bytes = $5, pages = $6,
				s3_key = $3, uploaded_sha256 = $4, uploaded_at = now(), updated_at = now()
			WHERE client_id = $1 AND iso_week = $2 AND pdf_sha256 = $7`,
			clientID, week, key, pdf.SHA256(), len(pdf.Bytes), pdf.Pages, generatedSHA)
		if err != nil {
			return fmt.Errorf("mark report %s %s restored: %w", clientID, week, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("report %s %s was regenerated while its file was restored", clientID, week)
		}
		return tx.SaveReport(ctx, Report{ClientID: clientID, ISOWeek: week, S3Key: key})
	})
}

// WantReportSends raises the sends asked for to at least n (the schedule asks for 1, an admin's
// resend for one more than were made) and returns the delivery. Asking for the same n twice
// asks once.
func (s *Store) WantReportSends(ctx context.Context, clientID, week string, n int) (ReportDelivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, `UPDATE report_deliveries SET sends_wanted = GREATEST(sends_wanted, $3),
			updated_at = now() WHERE client_id = $1 AND iso_week = $2 RETURNING `+deliveryColumns, clientID, week, n))
	return d, notFound(err, "report "+clientID+" "+week)
}

// WithdrawReportSends takes back the sends asked for and not made, when they are at most n: the
// weekly run's send (n is 1) that an earlier attempt of its email step asked for before the client
// was offboarded or had its reports turned off. Left asked for, a later run that asks for none (an
// admin's regenerate without email) made it. More sends asked for (an admin's resend of a week
// already sent) stay.
func (s *Store) WithdrawReportSends(ctx context.Context, clientID, week string, n int) error {
	_, err := s.pool.Exec(ctx, `UPDATE report_deliveries SET sends_wanted = sends_done, updated_at = now()
		WHERE client_id = $1 AND iso_week = $2 AND sends_done < sends_wanted AND sends_wanted <= $3`, clientID, week, n)
	if err != nil {
		return fmt.Errorf("withdraw sends of report %s %s: %w", clientID, week, err)
	}
	return nil
}

// ReportSend is one send of a report the SMTP server took.
type ReportSend struct {
	Seq        int // the send's number for the client and week, 1 for the first
	MessageID  string
	Recipients int // how many got it
	// Refused are the positions in the client's recipients of those refused for good.
	Refused []int
	// Run is the Temporal run whose email step made the send.
	Run string
}

// MarkReportEmailed records send number s.Seq; an older or repeated seq changes nothing.
func (s *Store) MarkReportEmailed(ctx context.Context, clientID, week string, send ReportSend) error {
	refused := send.Refused
	if refused == nil {
		refused = []int{}
	}
	_, err := s.pool.Exec(ctx, `UPDATE report_deliveries SET sends_done = $3, emailed_at = now(), message_id = $4,
			recipients = $5, refused_recipients = $6, sent_by_run = $7, updated_at = now()
		WHERE client_id = $1 AND iso_week = $2 AND sends_done < $3`, clientID, week, send.Seq, send.MessageID, send.Recipients,
		refused, send.Run)
	if err != nil {
		return fmt.Errorf("mark report %s %s emailed: %w", clientID, week, err)
	}
	return nil
}

// ListReportDeliveries returns deliveries newest week first, of one client or (clientID empty)
// of all; beforeWeek pages backwards, beforeClient breaks ties between clients.
func (s *Store) ListReportDeliveries(ctx context.Context, clientID, beforeWeek, beforeClient string, limit int) ([]ReportDelivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM report_deliveries
		WHERE ($1 = '' OR client_id = $1) AND ($2 = '' OR (iso_week, client_id) < ($2, $3))
		ORDER BY iso_week DESC, client_id DESC LIMIT $4`, clientID, beforeWeek, beforeClient, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list report deliveries: %w", err)
	}
	defer rows.Close()
	var out []ReportDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("scan report delivery: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ReportPayments sums one client's payments captured in [from, to) per currency, and how they
// were split, net of refunds (see RevenueByDay). NeedsAttention counts the payments Unsplit sums
// (no legs yet: waiting for their order or parked for an admin), so the report's note names as
// many payments as its amount covers; it counted only those parked, and a week whose unsplit
// money waited for its order had the amount in the split chart and no note.
func (s *Store) ReportPayments(ctx context.Context, clientID string, from, to time.Time) ([]report.Payments, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT p.currency, count(*), sum(p.gross), sum(p.refunded), sum(l.platform), sum(l.vendor), sum(l.affiliate),
			sum(CASE WHEN l.legs = 0 THEN p.gross - p.refunded ELSE 0 END),
			count(*) FILTER (WHERE l.legs = 0), count(*) FILTER (WHERE p.status = 'payout_failed')
		FROM payments p `+partiesSQL+`
		WHERE p.client_id = $1 AND p.captured_at >= $2 AND p.captured_at < $3
		GROUP BY 1 ORDER BY 1`, clientID, from, to)
	if err != nil {
		return nil, fmt.Errorf("report payments of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []report.Payments
	for rows.Next() {
		var p report.Payments
		var cur string
		if err := rows.Scan(&cur, &p.Count, &p.Gross, &p.Refunded, &p.Platform, &p.Vendor, &p.Affiliate, &p.Unsplit,
			&p.NeedsAttention, &p.PayoutFailed); err != nil {
			return nil, fmt.Errorf("scan report payments: %w", err)
		}
		p.Currency = money.Currency(cur)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ReportPayouts sums the vendor and affiliate legs of one client's payments captured in
// [from, to) per payee, role and currency: owed (net of refunds), paid out (net of reversals),
// held (legHeldSQL: a held leg's rest, and a leg's top-ups held for its payee up to what it is
// still owed, as the payouts list shows them) and failed (legHeldSQL's fl: a failed leg's rest,
// refused top-ups, and refused reversals negative, as the payouts list's failed). Vendors first,
// then by currency and payee.
func (s *Store) ReportPayouts(ctx context.Context, clientID string, from, to time.Time) ([]report.Payout, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT p.currency, leg->>'party', COALESCE(leg->>'payee_id', ''), count(*),
			COALESCE(sum(l.owed), 0), COALESCE(sum(l.paid), 0),
			COALESCE(sum(hl.held), 0),
			COALESCE(min(hl.reason) FILTER (WHERE leg->>'state' = 'held'), min(hl.reason), ''),
			COALESCE(sum(fl.failed), 0),
			COALESCE(min(fl.reason) FILTER (WHERE fl.failed > 0 AND leg->>'state' = 'failed'), min(fl.reason) FILTER (WHERE fl.failed > 0), ''),
			COALESCE(-sum(fl.failed) FILTER (WHERE fl.failed < 0), 0),
			COALESCE(min(fl.reason) FILTER (WHERE fl.failed < 0), '')
		FROM payments p CROSS JOIN LATERAL `+legsSQL+` leg `+legHeldSQL+`
		WHERE p.client_id = $1 AND p.captured_at >= $2 AND p.captured_at < $3 AND leg->>'party' <> 'platform'
		GROUP BY 1, 2, 3 ORDER BY leg->>'party' = 'vendor' DESC, leg->>'party', p.currency, 3`, clientID, from, to)
	if err != nil {
		return nil, fmt.Errorf("report payouts of %s: %w", clientID, err)
	}
	defer rows.Close()
	var out []report.Payout
	for rows.Next() {
		var p report.Payout
		var cur string
		if err := rows.Scan(&cur, &p.Party, &p.PayeeID, &p.Payments, &p.Owed, &p.PaidOut, &p.Held, &p.HeldReason, &p.Failed, &p.FailedReason, &p.FailedReversals, &p.FailedReversalReason); err != nil {
			return nil, fmt.Errorf("scan report payout: %w", err)
		}
		p.Currency = money.Currency(cur)
		// The report goes to the client.
		p.HeldReason, p.FailedReason = ClientReason(p.HeldReason), ClientReason(p.FailedReason)
		p.FailedReversalReason = ClientReason(p.FailedReversalReason)
		out = append(out, p)
	}
	return out, rows.Err()
}
