// Package objstoretest runs a real S3-API server (gofakes3, in memory) over HTTP for tests.
package objstoretest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"paysplit/internal/objstore"
)

// Server is an S3-API server on a loopback port that also remembers the headers of every
// PutObject, so tests can check what the client asked for (encryption, content type).
type Server struct {
	URL string

	mu   sync.Mutex
	puts []http.Header
}

// Start serves an empty S3 until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	fake := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true))
	s := &Server{}
	h := fake.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Query().Get("uploadId") == "" {
			s.mu.Lock()
			s.puts = append(s.puts, r.Header.Clone())
			s.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Config is an objstore configuration pointing at the server.
func (s *Server) Config(bucket string) objstore.Config {
	return objstore.Config{Endpoint: s.URL, Bucket: bucket, Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test-secret"}
}

// Bucket is a store on the server whose bucket exists, as the worker's and the API's are once
// they started.
func (s *Server) Bucket(t testing.TB, bucket string) *objstore.Store {
	t.Helper()
	st, err := objstore.New(t.Context(), s.Config(bucket))
	if err != nil {
		t.Fatalf("objstoretest: store for %s: %v", bucket, err)
	}
	if err := st.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("objstoretest: bucket %s: %v", bucket, err)
	}
	return st
}

// Puts are the request headers of the PUT requests so far.
func (s *Server) Puts() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.puts...)
}
