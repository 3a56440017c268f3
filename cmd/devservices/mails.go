package main

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"paysplit/internal/mailer/mailbox"
)

// mails keeps received messages as .eml files (so they outlive a restart) and serves them.
type mails struct {
	dir  string
	mu   sync.Mutex
	list []stored
}

type stored struct {
	ID     int
	At     time.Time
	Raw    []byte
	Parsed mailbox.Parsed
}

func openMails(dir string) (*mails, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("mail directory: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	m := &mails{dir: dir}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		if _, err := m.keep(raw, info.ModTime()); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return m, nil
}

// add stores a new message on disk and in the list.
func (m *mails) add(raw []byte, at time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := os.WriteFile(filepath.Join(m.dir, fmt.Sprintf("%06d.eml", len(m.list)+1)), raw, 0o644); err != nil {
		return 0, err
	}
	return m.keepLocked(raw, at)
}

func (m *mails) keep(raw []byte, at time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keepLocked(raw, at)
}

func (m *mails) keepLocked(raw []byte, at time.Time) (int, error) {
	p, err := mailbox.Parse(raw)
	if err != nil {
		return 0, err
	}
	id := len(m.list) + 1
	m.list = append(m.list, stored{ID: id, At: at, Raw: raw, Parsed: p})
	return id, nil
}

func (m *mails) get(id int) (stored, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || id > len(m.list) {
		return stored{}, false
	}
	return m.list[id-1], true
}

func (m *mails) newestFirst() []stored {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]stored, len(m.list))
	for i, s := range m.list {
		out[len(out)-1-i] = s
	}
	return out
}

var indexPage = template.Must(template.New("index").Funcs(template.FuncMap{
	"join": strings.Join,
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>paysplit dev mailbox</title>
<style>body{font-family:sans-serif;margin:2em;color:#111827}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:6px 10px;border-bottom:1px solid #e5e7eb;vertical-align:top}th{background:#f3f4f6}
a{color:#2563eb}</style></head><body>
<h1>Dev mailbox</h1><p>{{len .}} message(s), newest first. SMTP on this machine only; nothing leaves it.</p>
<table><tr><th>#</th><th>Received</th><th>To</th><th>Subject</th><th>Open</th><th>Attachments</th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{join .Parsed.To ", "}}</td>
<td>{{.Parsed.Subject}}</td>
<td>{{if .Parsed.HTML}}<a href="/messages/{{.ID}}.html">HTML</a> {{end}}{{if .Parsed.Text}}<a href="/messages/{{.ID}}.txt">text</a> {{end}}<a href="/messages/{{.ID}}.eml">raw</a></td>
<td>{{$id := .ID}}{{range $i, $a := .Parsed.Attachments}}<a href="/messages/{{$id}}/attachments/{{$i}}">{{$a.FileName}}</a> ({{len $a.Data}} bytes)<br>{{end}}</td></tr>
{{end}}</table></body></html>
`))

// handler serves the mailbox: / lists messages, /messages/N.html|.txt|.eml shows one,
// /messages/N/attachments/I downloads an attachment, /api/messages lists them as JSON.
func (m *mails) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = indexPage.Execute(w, m.newestFirst())
	})
	mux.HandleFunc("GET /api/messages", func(w http.ResponseWriter, r *http.Request) {
		type view struct {
			ID          int       `json:"id"`
			At          time.Time `json:"received_at"`
			To          []string  `json:"to"`
			Subject     string    `json:"subject"`
			MessageID   string    `json:"message_id"`
			Attachments []string  `json:"attachments"`
		}
		out := []view{}
		for _, s := range m.newestFirst() {
			v := view{ID: s.ID, At: s.At, To: s.Parsed.To, Subject: s.Parsed.Subject, MessageID: s.Parsed.MessageID, Attachments: []string{}}
			for _, a := range s.Parsed.Attachments {
				v.Attachments = append(v.Attachments, a.FileName)
			}
			out = append(out, v)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /messages/{file}", func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		ext := filepath.Ext(file)
		id, err := strconv.Atoi(strings.TrimSuffix(file, ext))
		s, ok := m.get(id)
		if err != nil || !ok {
			http.NotFound(w, r)
			return
		}
		switch ext {
		case ".html":
			// The message's HTML may not load anything or run scripts.
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(s.Parsed.HTML))
		case ".txt":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(s.Parsed.Text))
		case ".eml":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(s.Raw)
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET /messages/{id}/attachments/{i}", func(w http.ResponseWriter, r *http.Request) {
		id, err1 := strconv.Atoi(r.PathValue("id"))
		i, err2 := strconv.Atoi(r.PathValue("i"))
		s, ok := m.get(id)
		if err1 != nil || err2 != nil || !ok || i < 0 || i >= len(s.Parsed.Attachments) {
			http.NotFound(w, r)
			return
		}
		a := s.Parsed.Attachments[i]
		w.Header().Set("Content-Type", a.ContentType)
		w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", a.FileName))
		_, _ = w.Write(a.Data)
	})
	return mux
}
