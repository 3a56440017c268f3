package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/config"
)

// TestReportsOffKeepsStoredReportsDownloadable: REPORTS=off stops new weekly reports (no
// schedule, no run, 409 reports_off), but the PDFs already stored are still in S3_BUCKET, and a
// client's GET /api/v1/reports answers download_url null only "without report storage". The
// API handed out no links at all with REPORTS=off, so turning reports off took every client's
// past reports away with them.
func TestReportsOffKeepsStoredReportsDownloadable(t *testing.T) {
	cfg := config.Config{Reports: config.Reports{Mode: "off", S3Endpoint: "http://127.0.0.1:9100", S3Bucket: "paysplit-reports",
		S3Region: "us-east-1", S3AccessKeyID: "paysplit-dev", S3SecretAccessKey: "paysplit-dev-secret", S3SSE: "AES256", PresignTTL: 15 * time.Minute}}
	links, err := reportLinks(t.Context(), cfg)
	require.NoError(t, err)
	require.NotNil(t, links, "with REPORTS=off and S3_BUCKET the stored reports have no download links")
	u, _, err := links.PresignGet(t.Context(), "reports/c1/2026-W47.pdf")
	require.NoError(t, err)
	require.Contains(t, u, "paysplit-reports")

	cfg.Reports = config.Reports{Mode: "off"}
	links, err = reportLinks(t.Context(), cfg)
	require.NoError(t, err)
	require.Nil(t, links, "without S3_BUCKET there is no storage to link to")
}
