package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/mailer"
	"paysplit/internal/objstore"
)

func get(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// TestServicesKeepObjectsAndMailAcrossRestarts drives the stand-ins the way the worker and a
// developer do: upload and read back a file, send a mail with an attachment, read it on the
// mailbox page, then restart and find both still there.
func TestServicesKeepObjectsAndMailAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := options{S3Addr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", GA4Addr: "127.0.0.1:0", Dir: dir}
	svc, err := start(o, logger)
	require.NoError(t, err)

	ctx := t.Context()
	files, err := objstore.New(ctx, objstore.Config{Endpoint: "http://" + svc.s3Addr, Bucket: "paysplit-reports", AccessKeyID: "a", SecretAccessKey: "b"})
	require.NoError(t, err)
	require.NoError(t, files.EnsureBucket(ctx))
	pdf := []byte("%PDF-1.4 test file")
	require.NoError(t, files.Put(ctx, objstore.Object{Key: "reports/c/2026-W07.pdf", Body: pdf, ContentType: "application/pdf"}))

	m := &mailer.SMTP{Addr: svc.box.Addr(), From: "reports@paysplit.test", Timeout: 5 * time.Second}
	_, err = m.Deliver(ctx, mailer.Message{To: []string{"dev@shop.test"}, Subject: "Weekly report 2026-W07",
		Text: "Visitors: 1,234", HTML: "<p>Visitors: <b>1,234</b></p>",
		Attachments: []mailer.Attachment{{Name: "report.pdf", ContentType: "application/pdf", Data: pdf}}})
	require.NoError(t, err)

	page := "http://" + svc.httpAddr
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, _, body := get(t, page+"/")
		assert.Contains(c, string(body), "Weekly report 2026-W07")
	}, 10*time.Second, 50*time.Millisecond)
	tests := []struct {
		path, contentType, contains string
	}{
		{"/messages/1.html", "text/html", "<b>1,234</b>"},
		{"/messages/1.txt", "text/plain", "Visitors: 1,234"},
		{"/messages/1.eml", "text/plain", "Subject: Weekly report 2026-W07"},
		{"/messages/1/attachments/0", "application/pdf", "%PDF-1.4 test file"},
	}
	for _, tc := range tests {
		code, ct, body := get(t, page+tc.path)
		require.Equal(t, http.StatusOK, code, tc.path)
		require.True(t, strings.HasPrefix(ct, tc.contentType), "%s: %s", tc.path, ct)
		require.Contains(t, string(body), tc.contains, tc.path)
	}
	for _, missing := range []string{"/messages/2.html", "/messages/1/attachments/1", "/messages/x.txt"} {
		code, _, _ := get(t, page+missing)
		require.Equal(t, http.StatusNotFound, code, missing)
	}
	svc.close()

	svc, err = start(o, logger)
	require.NoError(t, err)
	t.Cleanup(svc.close)
	_, _, body := get(t, "http://"+svc.httpAddr+"/api/messages")
	var list []struct {
		Subject     string   `json:"subject"`
		Attachments []string `json:"attachments"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 1)
	require.Equal(t, []string{"report.pdf"}, list[0].Attachments)
	files, err = objstore.New(ctx, objstore.Config{Endpoint: "http://" + svc.s3Addr, Bucket: "paysplit-reports", AccessKeyID: "a", SecretAccessKey: "b"})
	require.NoError(t, err)
	got, err := files.Get(ctx, "reports/c/2026-W07.pdf")
	require.NoError(t, err)
	require.Equal(t, pdf, got)
}
