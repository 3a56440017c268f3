package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/objstore/objstoretest"
	"paysplit/testenv"
	reportwf "paysplit/workflows/report"
)

// reportsEnv is the API with real Temporal, a worker for the report workflows, an S3-API server
// and an SMTP server.
type reportsEnv struct {
	*apiEnv
	tc        client.Client
	taskQueue string
	box       *mailbox.Server
}

func newReportsEnv(t *testing.T, mods ...func(*server.Deps)) *reportsEnv {
	t.Helper()
	tc := testenv.TemporalClient(t)
	s3 := objstoretest.Start(t)
	files := s3.Bucket(t, "api-reports")
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	taskQueue := uniqueID("reports-api")
	a := newAPI(t, func(d *server.Deps) {
		d.Temporal, d.TaskQueue, d.ReportLinks = tc, taskQueue, files
		for _, mod := range mods {
			mod(d)
		}
	})
	w := worker.New(tc, taskQueue, testenv.WorkerOptions())
	reportwf.Register(w)
	w.RegisterActivity(&activities.Reports{Store: a.store, Files: files,
		Mail: &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 10 * time.Second}})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return &reportsEnv{apiEnv: a, tc: tc, taskQueue: taskQueue, box: box}
}

// wait blocks until the run an admin endpoint started has finished.
func (e *reportsEnv) wait(body map[string]any) reportwf.ClientResult {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), time.Minute)
	defer cancel()
	var res reportwf.ClientResult
	require.NoError(e.t, e.tc.GetWorkflow(ctx, body["workflow_id"].(string), body["run_id"].(string)).Get(ctx, &res))
	return res
}

func download(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return b
}

func manyAddresses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("person%d@shop.test", i)
	}
	return out
}

func TestReportSettingsValidation(t *testing.T) {
	e := newReportsEnv(t)
	id := e.newClient("settings")
	path := "/api/v1/admin/clients/" + id + "/report-settings"

	code, body := e.json(req{method: http.MethodGet, path: path, key: adminKey})
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "UTC", body["time_zone"], "defaults before anything is set")

	tests := []struct {
		name     string
		path     string
		body     any
		status   int
		contains string
	}{
		{"unknown zone", path, map[string]any{"time_zone": "Mars/Olympus"}, http.StatusBadRequest, "IANA time zone"},
		{"Local is not a zone", path, map[string]any{"time_zone": "Local"}, http.StatusBadRequest, "IANA time zone"},
		{"bad recipient", path, map[string]any{"recipients": []string{"ok@example.test", "Jane Doe <jane@x>", "nope"}}, http.StatusBadRequest, "recipients[1]"},
		{"too many recipients", path, map[string]any{"recipients": manyAddresses(21)}, http.StatusBadRequest, "at most 20"},
		{"unknown field", path, map[string]any{"timezone": "UTC"}, http.StatusBadRequest, "unknown field"},
		{"unknown client", "/api/v1/admin/clients/no-such-client/report-settings", map[string]any{"time_zone": "UTC"}, http.StatusNotFound, "no-such-client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.json(req{method: http.MethodPut, path: tc.path, key: adminKey, body: tc.body})
			require.Equal(t, tc.status, code, body)
			msg := body["error"].(map[string]any)["message"].(string)
			require.Contains(t, msg, tc.contains)
			require.NotContains(t, msg, "jane@x", "addresses are not echoed")
		})
	}

	code, body = e.json(req{method: http.MethodPut, path: path, key: adminKey,
		body: map[string]any{"time_zone": "America/Sao_Paulo", "recipients": []string{" Owner@Shop.test ", "owner@shop.test", "team@shop.test"}}})
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, []any{"owner@shop.test", "team@shop.test"}, body["recipients"])
	require.Equal(t, true, body["enabled"])
	// The zone's Monday schedule exists before any client is moved there.
	desc, err := e.tc.ScheduleClient().GetHandle(t.Context(), reportwf.ScheduleID("America/Sao_Paulo")).Describe(t.Context())
	require.NoError(t, err)
	require.Equal(t, "America/Sao_Paulo", desc.Schedule.Spec.TimeZoneName)
	require.NoError(t, e.tc.ScheduleClient().GetHandle(t.Context(), reportwf.ScheduleID("America/Sao_Paulo")).Delete(t.Context()))
}

func TestRegenerateResendAndDownloadThroughTheAPI(t *testing.T) {
	e := newReportsEnv(t)
	id := e.newClient("weekly")
	code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/report-settings", key: adminKey,
		body: map[string]any{"time_zone": "UTC", "recipients": []string{"owner@weekly.test"}}})
	require.Equal(t, http.StatusOK, code, body)
	base := "/api/v1/admin/reports/" + id + "/2026-W07"

	tests := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"resend before any report", base + "/resend", nil, http.StatusNotFound, "not_found"},
		{"week that does not exist", "/api/v1/admin/reports/" + id + "/2026-W60/regenerate", nil, http.StatusBadRequest, "invalid_request"},
		{"week not over", "/api/v1/admin/reports/" + id + "/2099-W01/regenerate", nil, http.StatusBadRequest, "invalid_request"},
		{"unknown client", "/api/v1/admin/reports/nobody-here/2026-W07/regenerate", nil, http.StatusNotFound, "not_found"},
		{"bad body", base + "/regenerate", map[string]any{"email": "yes"}, http.StatusBadRequest, "invalid_json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.json(req{method: http.MethodPost, path: tc.path, key: adminKey, body: tc.body})
			require.Equal(t, tc.status, code, body)
			require.Equal(t, tc.code, body["error"].(map[string]any)["code"])
		})
	}
	require.Empty(t, e.box.Messages(), "nothing was started by refused requests")

	// Regenerate (here: generate a week nobody generated) and email it.
	code, body = e.json(req{method: http.MethodPost, path: base + "/regenerate", key: adminKey, body: map[string]any{"email": true}})
	require.Equal(t, http.StatusAccepted, code, body)
	require.Equal(t, "report-"+id+"-2026-W07", body["workflow_id"])
	res := e.wait(body)
	require.True(t, res.Email.Sent)
	require.Len(t, e.box.Messages(), 1)

	// Admins see the delivery and can download the file through a presigned link.
	code, body = e.json(req{method: http.MethodGet, path: "/api/v1/admin/reports?client_id=" + id, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	reports := body["reports"].([]any)
	require.Len(t, reports, 1)
	r := reports[0].(map[string]any)
	require.Equal(t, "2026-W07", r["iso_week"])
	require.Equal(t, true, r["uploaded"])
	require.EqualValues(t, 1, r["sends_done"])
	require.EqualValues(t, 1, r["recipients"])
	url := r["download_url"].(string)
	require.Contains(t, url, "X-Amz-Signature=")
	pdf := download(t, url)
	require.True(t, strings.HasPrefix(string(pdf), "%PDF-"))
	parsed, err := mailbox.Parse(e.box.Messages()[0].Data)
	require.NoError(t, err)
	require.Equal(t, pdf, parsed.Attachments[0].Data, "the download is the file that was mailed")

	// The client API lists it with a working link too.
	code, body = e.json(req{method: http.MethodGet, path: "/api/v1/reports?client_id=" + id, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	clientURL := body["reports"].([]any)[0].(map[string]any)["download_url"].(string)
	require.Equal(t, pdf, download(t, clientURL))

	// Resend mails it again; regenerate without email mails nothing.
	code, body = e.json(req{method: http.MethodPost, path: base + "/resend", key: adminKey})
	require.Equal(t, http.StatusAccepted, code, body)
	require.True(t, e.wait(body).Email.Sent)
	require.Len(t, e.box.Messages(), 2)
	code, body = e.json(req{method: http.MethodPost, path: base + "/regenerate", key: adminKey})
	require.Equal(t, http.StatusAccepted, code, body)
	res = e.wait(body)
	require.True(t, res.Generate.Generated)
	require.False(t, res.Email.Sent)
	require.Len(t, e.box.Messages(), 2)

	// Every action is in the audit log.
	code, body = e.json(req{method: http.MethodGet, path: "/api/v1/admin/audit?limit=100", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	actions := map[string]int{}
	for _, entry := range body["entries"].([]any) {
		en := entry.(map[string]any)
		if en["target"] == "report:"+id+"/2026-W07" {
			actions[en["action"].(string)]++
		}
	}
	require.Equal(t, map[string]int{"report.regenerate": 2, "report.resend": 1}, actions)
}

// TestReportRunIdempotencyKey: an admin's client that retries a resend or a regenerate-and-email
// (its first POST timed out, or a double click) with the same Idempotency-Key gets the first
// run's answer, and the client is emailed once; a new key is a deliberate second send. The
// retry comes after the first run finished, which is when the run-in-progress 409 no longer
// stops it.
func TestReportRunIdempotencyKey(t *testing.T) {
	e := newReportsEnv(t)
	id := e.newClient("idem")
	code, body := e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/report-settings", key: adminKey,
		body: map[string]any{"time_zone": "UTC", "recipients": []string{"owner@idem.test"}}})
	require.Equal(t, http.StatusOK, code, body)
	base := "/api/v1/admin/reports/" + id + "/2026-W07"
	post := func(path, key string, reqBody any) (int, map[string]any) {
		return e.json(req{method: http.MethodPost, path: path, key: adminKey, body: reqBody, header: map[string]string{"Idempotency-Key": key}})
	}

	code, first := post(base+"/regenerate", "gen-1", map[string]any{"email": true})
	require.Equal(t, http.StatusAccepted, code, first)
	require.True(t, e.wait(first).Email.Sent)
	code, again := post(base+"/regenerate", "gen-1", map[string]any{"email": true})
	require.Equal(t, http.StatusAccepted, code, again)
	e.wait(again) // the first run's (finished), or a second one's
	require.Equal(t, 1, len(e.box.Messages()), "a retried regenerate-and-email mails once")
	require.Equal(t, first["run_id"], again["run_id"], "the retry is answered with the first run")

	code, first = post(base+"/resend", "resend-1", nil)
	require.Equal(t, http.StatusAccepted, code, first)
	require.True(t, e.wait(first).Email.Sent)
	require.Equal(t, 2, len(e.box.Messages()))
	code, again = post(base+"/resend", "resend-1", nil)
	require.Equal(t, http.StatusAccepted, code, again)
	e.wait(again) // the first run's (finished), or a second one's
	require.Equal(t, 2, len(e.box.Messages()), "a retried resend mails once")
	require.Equal(t, first["run_id"], again["run_id"], "the retry is answered with the first run")
	require.Equal(t, true, again["replayed"])

	// A new key is a new resend.
	code, body = post(base+"/resend", "resend-2", nil)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Equal(t, false, body["replayed"])
	require.True(t, e.wait(body).Email.Sent)
	require.Equal(t, 3, len(e.box.Messages()))

	// The key names one request: reused for another one it is refused, and nothing starts.
	code, body = post(base+"/regenerate", "gen-1", nil)
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	require.Equal(t, "idempotency_key_reused", body["error"].(map[string]any)["code"])
	code, body = post(base+"/resend", strings.Repeat("k", 256), nil)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Equal(t, "invalid_request", body["error"].(map[string]any)["code"])

	// Replays write no audit entry: one per run started.
	code, body = e.json(req{method: http.MethodGet, path: "/api/v1/admin/audit?limit=100&target=report:" + id + "/2026-W07", key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Len(t, body["entries"], 3)
}

// TestAnEmailToNoRecipientsIsRefused: a resend, or a regenerate with {"email": true}, of a client
// whose report settings name no recipient was answered 202 "send": true; the run's email step
// then found nobody to mail and skipped, so the admin was told a mail went out that nobody got,
// and the delivery kept a send asked for and never made. It is refused (409 no_recipients, saying
// where recipients are set) and starts nothing; a regenerate without email is still taken, and
// once recipients are set the resend mails them.
func TestAnEmailToNoRecipientsIsRefused(t *testing.T) {
	e := newReportsEnv(t)
	id := e.newClient("nobody")
	base := "/api/v1/admin/reports/" + id + "/2026-W07"

	code, body := e.json(req{method: http.MethodPost, path: base + "/regenerate", key: adminKey, body: map[string]any{"email": true}})
	require.Equal(t, http.StatusConflict, code, body)
	errBody := body["error"].(map[string]any)
	require.Equal(t, "no_recipients", errBody["code"])
	require.Contains(t, errBody["message"], "/api/v1/admin/clients/"+id+"/report-settings", "says where to set them")
	code, body = e.json(req{method: http.MethodGet, path: "/api/v1/admin/reports?client_id=" + id, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.Empty(t, body["reports"], "the refused request started no run")
	require.Empty(t, e.auditOf("report:"+id+"/2026-W07"), "and audited none")

	// Without email the report is made; a resend of it is refused the same way.
	code, body = e.json(req{method: http.MethodPost, path: base + "/regenerate", key: adminKey})
	require.Equal(t, http.StatusAccepted, code, body)
	require.True(t, e.wait(body).Generate.Generated)
	code, body = e.json(req{method: http.MethodPost, path: base + "/resend", key: adminKey})
	require.Equal(t, http.StatusConflict, code, body)
	require.Equal(t, "no_recipients", body["error"].(map[string]any)["code"])
	code, body = e.json(req{method: http.MethodGet, path: "/api/v1/admin/reports?client_id=" + id, key: adminKey})
	require.Equal(t, http.StatusOK, code, body)
	require.EqualValues(t, 0, body["reports"].([]any)[0].(map[string]any)["sends_wanted"], "no send left asked for and never made")
	require.Empty(t, e.box.Messages())

	code, body = e.json(req{method: http.MethodPut, path: "/api/v1/admin/clients/" + id + "/report-settings", key: adminKey,
		body: map[string]any{"time_zone": "UTC", "recipients": []string{"owner@nobody.test"}}})
	require.Equal(t, http.StatusOK, code, body)
	code, body = e.json(req{method: http.MethodPost, path: base + "/resend", key: adminKey})
	require.Equal(t, http.StatusAccepted, code, body)
	require.True(t, e.wait(body).Email.Sent)
	require.Len(t, e.box.Messages(), 1)
}
