package objstore_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/objstore"
	"paysplit/internal/objstore/objstoretest"
)

func TestPutGetPresign(t *testing.T) {
	srv := objstoretest.Start(t)
	ctx := t.Context()
	st := srv.Bucket(t, "reports-test")
	require.NoError(t, st.EnsureBucket(ctx), "a second call finds the bucket")

	body := []byte("%PDF-1.4 not really a pdf")
	key := "reports/northwind/2026-W07.pdf"
	require.NoError(t, st.Put(ctx, objstore.Object{Key: key, Body: body, ContentType: "application/pdf", FileName: "r.pdf"}))

	puts := srv.Puts()
	require.NotEmpty(t, puts)
	last := puts[len(puts)-1]
	require.Equal(t, "AES256", last.Get("X-Amz-Server-Side-Encryption"))
	require.Equal(t, "application/pdf", last.Get("Content-Type"))

	info, err := st.Head(ctx, key)
	require.NoError(t, err)
	require.Equal(t, int64(len(body)), info.Size)
	require.Equal(t, "application/pdf", info.ContentType)

	got, err := st.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, body, got)

	link, _, err := st.PresignGet(ctx, key)
	require.NoError(t, err)
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(link, srv.URL+"/reports-test/"+key), "path-style URL on the configured endpoint: %s", link)
	require.NotEmpty(t, u.Query().Get("X-Amz-Signature"))
	require.Equal(t, "900", u.Query().Get("X-Amz-Expires"))
	res, err := http.Get(link)
	require.NoError(t, err)
	defer res.Body.Close()
	downloaded, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, body, downloaded)
}

func TestMissingObjectIsNotFound(t *testing.T) {
	srv := objstoretest.Start(t)
	ctx := t.Context()
	st := srv.Bucket(t, "reports-test")
	tests := []struct {
		name string
		call func() error
	}{
		{"get", func() error { _, err := st.Get(ctx, "nope.pdf"); return err }},
		{"head", func() error { _, err := st.Head(ctx, "nope.pdf"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.call(), objstore.ErrNotFound)
		})
	}
}

func TestNewNeedsABucket(t *testing.T) {
	_, err := objstore.New(t.Context(), objstore.Config{})
	require.ErrorContains(t, err, "bucket is required")
}

func TestEncryptionAskedFor(t *testing.T) {
	tests := []struct {
		name, sse, kmsKey   string
		wantSSE, wantKMSKey string
		wantErr             string
	}{
		{name: "default is SSE-S3", wantSSE: "AES256"},
		{name: "KMS with the bucket's key", sse: "aws:kms", wantSSE: "aws:kms"},
		{name: "KMS with a key", sse: "aws:kms", kmsKey: "alias/reports", wantSSE: "aws:kms", wantKMSKey: "alias/reports"},
		{name: "no encryption is not an option", sse: "none", wantErr: "want AES256 or aws:kms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := objstoretest.Start(t)
			cfg := srv.Config("enc-test")
			cfg.SSE, cfg.SSEKMSKeyID = tc.sse, tc.kmsKey
			st, err := objstore.New(t.Context(), cfg)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NoError(t, st.EnsureBucket(t.Context()))
			require.NoError(t, st.Put(t.Context(), objstore.Object{Key: "k.pdf", Body: []byte("x"), ContentType: "application/pdf"}))
			puts := srv.Puts()
			last := puts[len(puts)-1]
			require.Equal(t, tc.wantSSE, last.Get("X-Amz-Server-Side-Encryption"))
			require.Equal(t, tc.wantKMSKey, last.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"))
		})
	}
}
