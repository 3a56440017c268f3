package main

import (
	"context"

	"paysplit/api/server"
	"paysplit/internal/config"
	"paysplit/internal/objstore"
)

// reportLinks is what presigns report downloads; nil (links answer null) without S3_BUCKET.
// REPORTS=off stops new reports, not the links to those already stored: a client's past
// reports stay downloadable while the bucket is configured. Presigning is computed locally: the
// API never needs to reach S3.
func reportLinks(ctx context.Context, cfg config.Config) (server.ReportLinks, error) {
	rc := cfg.Reports
	if rc.S3Bucket == "" {
		return nil, nil
	}
	files, err := objstore.New(ctx, objstore.Config{
		Endpoint: rc.S3Endpoint, Bucket: rc.S3Bucket, Region: rc.S3Region, AccessKeyID: rc.S3AccessKeyID,
		SecretAccessKey: rc.S3SecretAccessKey, SSE: rc.S3SSE, SSEKMSKeyID: rc.S3SSEKMSKeyID, PresignTTL: rc.PresignTTL,
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}
