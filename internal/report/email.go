package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"paysplit/internal/mailer"
)

// Email is the message that carries a report: the headline numbers in plain text and HTML, the
// PDF attached by the sender.
type Email struct {
	Subject string
	Text    string
	HTML    string
}

// EmailFor writes the report's email. Like the PDF it depends only on d.
func EmailFor(d Data) (Email, error) {
	tiles := d.Tiles()
	notes := d.NotesAll()
	// The name is put into sentences as an isolate, as in the PDF: a Hebrew or Arabic one must not
	// take the period after it into its right-to-left stretch (mailer.Isolate; the HTML uses <bdi>).
	name := mailer.Isolate(d.displayName())
	subject := fmt.Sprintf("Weekly report %s: %s (%s)", d.Week.String(), name, d.Week.Period())

	var t strings.Builder
	fmt.Fprintf(&t, "Weekly report for %s\nWeek %d, %d: %s (%s)\n\n", name, d.Week.Week, d.Week.Year, d.Week.Period(), d.daysIn())
	for _, tile := range tiles {
		fmt.Fprintf(&t, "%-22s %s", tile.Label+":", tile.Value)
		if tile.Change != "" {
			fmt.Fprintf(&t, " (%s)", changeText(tile))
		}
		t.WriteString("\n")
	}
	if len(notes) > 0 {
		t.WriteString("\nNotes:\n")
		for _, n := range notes {
			fmt.Fprintf(&t, "- %s\n", n)
		}
	}
	fmt.Fprintf(&t, "\nThe full report with charts and the payouts table is attached (%s).\n", FileName(d.ClientID, d.Week))

	type tileView struct {
		Tile
		ChangeText, Color string
	}
	views := make([]tileView, len(tiles))
	for i, tile := range tiles {
		color := "#6b7280"
		switch {
		case tile.Trend > 0:
			color = "#047857"
		case tile.Trend < 0:
			color = "#b91c1c"
		}
		views[i] = tileView{Tile: tile, ChangeText: changeText(tile), Color: color}
	}
	var h bytes.Buffer
	err := emailHTML.Execute(&h, map[string]any{
		"Name": mailer.StripIsolates(d.displayName()), "Week": d.Week, "Period": d.Week.Period(), "DaysIn": d.daysIn(),
		"Tiles": views, "Notes": notes, "File": FileName(d.ClientID, d.Week),
	})
	if err != nil {
		return Email{}, fmt.Errorf("report: email html: %w", err)
	}
	return Email{Subject: subject, Text: t.String(), HTML: h.String()}, nil
}

func changeText(t Tile) string {
	switch t.Change {
	case "", "new", "no change":
		return t.Change
	}
	return t.Change + " vs last week"
}

var emailHTML = template.Must(template.New("email").Parse(`<!doctype html>
<html><body style="margin:0;padding:0;background:#f3f4f6;font-family:Helvetica,Arial,sans-serif;color:#111827">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f4f6"><tr><td align="center" style="padding:24px">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff;border-radius:8px">
<tr><td style="background:#1e293b;color:#ffffff;padding:24px;border-radius:8px 8px 0 0">
<div style="font-size:12px;color:#94a3b8;letter-spacing:1px">WEEKLY REPORT</div>
<div style="font-size:24px;font-weight:bold;margin-top:4px"><bdi>{{.Name}}</bdi></div>
<div style="font-size:14px;color:#e2e8f0;margin-top:4px">Week {{.Week.Week}}, {{.Week.Year}} · {{.Period}} · {{.DaysIn}}</div>
</td></tr>
<tr><td style="padding:20px 24px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0">
{{range .Tiles}}<tr>
<td style="padding:8px 0;border-bottom:1px solid #e5e7eb;color:#6b7280;font-size:14px">{{.Label}}</td>
<td style="padding:8px 0;border-bottom:1px solid #e5e7eb;font-size:16px;font-weight:bold;text-align:right">{{.Value}}</td>
<td style="padding:8px 0 8px 12px;border-bottom:1px solid #e5e7eb;font-size:12px;text-align:right;color:{{.Color}}">{{.ChangeText}}</td>
</tr>{{end}}
</table>
{{if .Notes}}<h3 style="font-size:15px;margin:20px 0 8px">Notes</h3>
<ul style="margin:0;padding-left:20px;font-size:14px;line-height:1.5">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p style="font-size:13px;color:#6b7280;margin-top:20px">The full report with charts and the payouts table is attached ({{.File}}).</p>
</td></tr></table>
</td></tr></table>
</body></html>
`))
