package testenv

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"paysplit/workflows/searchattr"
)

func TestMain(m *testing.M) { Main(m) }

func TestTemporalServesWithSearchAttributes(t *testing.T) {
	hostPort, namespace := Temporal(t)
	require.NotEmpty(t, hostPort)
	require.Equal(t, "default", namespace)

	again, _ := Temporal(t)
	require.Equal(t, hostPort, again, "one dev server per test binary")

	c := TemporalClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
	require.NoError(t, err)

	ns, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	require.NoError(t, err)
	require.Equal(t, namespace, ns.GetNamespaceInfo().GetName())

	attrs, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	require.NoError(t, err)
	for name, want := range searchattr.Definitions() {
		got, ok := attrs.GetCustomAttributes()[name]
		require.True(t, ok, "search attribute %s not registered", name)
		require.Equal(t, want, got, "search attribute %s type", name)
	}
}

func TestStripeMockAnswers(t *testing.T) {
	base := StripeMock(t)
	require.Equal(t, base, StripeMock(t), "one stripe-mock per test binary")

	tests := []struct {
		name       string
		auth       string
		wantStatus int
		wantObject string
	}{
		{name: "test key", auth: "Bearer sk_test_123", wantStatus: http.StatusOK, wantObject: "balance"},
		{name: "no key", auth: "", wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/balance", nil)
			require.NoError(t, err)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tt.wantStatus, resp.StatusCode)
			if tt.wantObject == "" {
				return
			}
			var body struct {
				Object string `json:"object"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			require.Equal(t, tt.wantObject, body.Object)
		})
	}
}

func TestLookupTool(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "fake-tool")
	require.NoError(t, os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755))

	tests := []struct {
		name    string
		env     string
		want    string
		wantErr bool
	}{
		{name: "env points at binary", env: exe, want: exe},
		{name: "env points at nothing", env: filepath.Join(dir, "missing"), wantErr: true},
		{name: "not anywhere", env: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PAYSPLIT_FAKE_TOOL", tt.env)
			got, err := lookupTool("PAYSPLIT_FAKE_TOOL", "paysplit-no-such-tool")
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports, err := FreePorts(5)
	require.NoError(t, err)
	require.Len(t, ports, 5)
	seen := map[int]bool{}
	for _, p := range ports {
		require.False(t, seen[p], "port %d handed out twice", p)
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		require.NoError(t, err, "freed for a server to bind")
		_ = l.Close()
	}
}

// A frontend port another process took before the dev server bound it fails the start at once
// with errPortTaken, which startTemporal answers with a start on other ports, instead of after
// the whole start timeout (the server dies, and StartDevServer would poll its port until then).
func TestTemporalStartOnATakenPortFailsFast(t *testing.T) {
	exe, err := lookupTool("TEMPORAL_CLI", "temporal")
	if err != nil {
		requireService(t, "temporal", err)
		return
	}
	ports, err := FreePorts(3)
	require.NoError(t, err)
	taken, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])))
	require.NoError(t, err)
	defer taken.Close()
	_, err = startTemporalOn(exe, ports)
	require.ErrorIs(t, err, errPortTaken, "told by the server's log, not by the start timeout")
}

// A test's own Postgres survives a crash: what was committed before it is there after recovery,
// and connections made before it fail until the server is back.
func TestOwnPostgresCrashesAndRecovers(t *testing.T) {
	pg := OwnPostgres(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, pg.URL)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE crash_probe (v int); INSERT INTO crash_probe VALUES (42)")
	require.NoError(t, err)

	pg.Crash()
	_, err = conn.Exec(ctx, "SELECT 1")
	require.Error(t, err, "the connection died with the server")
	_, err = pgx.Connect(ctx, pg.URL)
	require.Error(t, err, "nothing answers while it is down")

	pg.Start()
	conn, err = pgx.Connect(ctx, pg.URL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v int
	require.NoError(t, conn.QueryRow(ctx, "SELECT v FROM crash_probe").Scan(&v))
	require.Equal(t, 42, v, "the committed row survived")
	require.Contains(t, pg.Log(), "database system was interrupted", "the server recovered from a crash, not a clean stop")
}
