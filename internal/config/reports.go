package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Reports configures the weekly client reports: where the PDFs are stored (S3 or a local
// S3-API server) and the SMTP server that mails them. In development every setting defaults to
// the local servers `make dev` starts (cmd/devservices); in production an empty S3_BUCKET turns
// reports off for that process only and an empty REPORT_SMTP_ADDR stores reports without
// mailing them. REPORTS=off turns them off for the whole deployment.
type Reports struct {
	// Mode is REPORTS: "off" turns weekly reports off for the whole deployment (the worker
	// deletes their schedules), "on" requires S3_BUCKET, and "" (the default) is on with
	// S3_BUCKET and off for this process alone without it. Why a setting apart from S3_BUCKET:
	// the schedules are shared by every replica, so a missing S3_BUCKET, which is one replica's
	// configuration (a task definition that lost it, a worker started by hand to debug), must
	// not decide for the fleet; turning reports off for all is said once, on purpose.
	Mode string
	// S3Endpoint is an S3-API server's base URL; empty means AWS S3.
	S3Endpoint string
	S3Bucket   string
	// S3Region is the bucket's region; empty means the SDK's (AWS_REGION, set on ECS).
	S3Region string
	// S3AccessKeyID and S3SecretAccessKey are static credentials; empty means the SDK's default
	// chain (the ECS task role in production).
	S3AccessKeyID     string
	S3SecretAccessKey string
	// S3SSE is the server-side encryption asked for on every upload: AES256 (SSE-S3) or aws:kms
	// (with S3SSEKMSKeyID, or the bucket's key when empty).
	S3SSE         string
	S3SSEKMSKeyID string
	// PresignTTL is how long a download link works.
	PresignTTL time.Duration

	SMTPAddr     string
	SMTPUsername string
	SMTPPassword string
	// SMTPTLS is opportunistic (STARTTLS when offered), mandatory or none.
	SMTPTLS  string
	MailFrom string
	// Fonts are the report's fallback fonts for characters the Go fonts lack (names in Japanese,
	// Arabic, Thai...): "auto" (those of internal/report's DefaultFontPaths installed), "none",
	// or TrueType files separated by commas, tried in order (the worker refuses to start when
	// one cannot be used).
	Fonts string
}

// FontPaths are the files REPORT_FONTS lists (nil for auto and none).
func (r Reports) FontPaths() []string {
	if r.Fonts == "auto" || r.Fonts == "none" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(r.Fonts, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

// Enabled reports whether this process makes reports: they are not turned off and have
// somewhere to be stored.
func (r Reports) Enabled() bool { return r.Mode != "off" && r.S3Bucket != "" }

// TurnedOff reports whether weekly reports are off for the whole deployment (REPORTS=off), not
// merely in this process for want of S3_BUCKET.
func (r Reports) TurnedOff() bool { return r.Mode == "off" }

// devS3SecretAccessKey is S3_SECRET_ACCESS_KEY's development default, for the local S3-API
// server `make dev` starts (cmd/devservices).
const devS3SecretAccessKey = "paysplit-dev-secret"

// settings are the report variables. Development defaults point at the local servers; in
// production those have no default (secret marks the credentials).
func (r *Reports) settings(env string, presignTTL *string) []setting {
	dev := env != "production"
	local := func(v string) string {
		if dev {
			return v
		}
		return ""
	}
	return []setting{
		{name: "REPORTS", optional: true, validate: oneOf("on", "off"), dst: &r.Mode},
		{name: "S3_ENDPOINT", def: local("http://127.0.0.1:9100"), optional: !dev, validate: validHTTPURL, dst: &r.S3Endpoint},
		{name: "S3_BUCKET", def: local("paysplit-reports"), optional: !dev, validate: validBucket, dst: &r.S3Bucket},
		{name: "S3_REGION", def: local("us-east-1"), optional: !dev, validate: nonEmpty, dst: &r.S3Region},
		{name: "S3_ACCESS_KEY_ID", def: local("paysplit-dev"), optional: !dev, validate: nonEmpty, dst: &r.S3AccessKeyID},
		// Optional in production (the SDK's chain), where the development value, published here,
		// is refused as every development secret is.
		{name: "S3_SECRET_ACCESS_KEY", def: local(devS3SecretAccessKey), optional: !dev, secret: true, dev: devS3SecretAccessKey, validate: nonEmpty, dst: &r.S3SecretAccessKey},
		{name: "S3_SSE", def: "AES256", validate: oneOf("AES256", "aws:kms"), dst: &r.S3SSE},
		{name: "S3_SSE_KMS_KEY_ID", optional: true, validate: nonEmpty, dst: &r.S3SSEKMSKeyID},
		{name: "S3_PRESIGN_TTL", def: "15m", validate: validPresignTTL, dst: presignTTL},
		{name: "REPORT_SMTP_ADDR", def: local("127.0.0.1:1025"), optional: !dev, validate: validDialAddr, dst: &r.SMTPAddr},
		{name: "REPORT_SMTP_USERNAME", optional: true, validate: nonEmpty, dst: &r.SMTPUsername},
		{name: "REPORT_SMTP_PASSWORD", optional: true, validate: nonEmpty, dst: &r.SMTPPassword},
		{name: "REPORT_SMTP_TLS", def: "opportunistic", validate: oneOf("opportunistic", "mandatory", "none"), dst: &r.SMTPTLS},
		{name: "REPORT_FONTS", def: "auto", validate: validFonts, dst: &r.Fonts},
		{name: "REPORT_MAIL_FROM", def: local("paysplit reports <reports@paysplit.localhost>"), optional: !dev, validate: validEmail, dst: &r.MailFrom},
	}
}

// finish checks the report settings that only make sense together.
func (r *Reports) finish(presignTTL string) error {
	r.PresignTTL, _ = time.ParseDuration(presignTTL)
	// A fleet that makes reports says so with REPORTS=on, so that a replica that lost
	// S3_BUCKET does not start at all rather than start without reports.
	if r.Mode == "on" && r.S3Bucket == "" {
		return errors.New("config: REPORTS=on needs S3_BUCKET (REPORTS=off turns weekly reports off for the whole deployment)")
	}
	if (r.S3AccessKeyID == "") != (r.S3SecretAccessKey == "") {
		return errors.New("config: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together")
	}
	if r.S3SSEKMSKeyID != "" && r.S3SSE != "aws:kms" {
		return errors.New("config: S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms")
	}
	if (r.SMTPUsername == "") != (r.SMTPPassword == "") {
		return errors.New("config: REPORT_SMTP_USERNAME and REPORT_SMTP_PASSWORD must be set together")
	}
	if r.SMTPAddr != "" && r.MailFrom == "" {
		return errors.New("config: REPORT_MAIL_FROM is required when REPORT_SMTP_ADDR is set")
	}
	if r.SMTPUsername != "" && r.SMTPTLS == "none" {
		return errors.New("config: REPORT_SMTP_TLS=none would send the SMTP password in clear text")
	}
	return nil
}

// validFonts accepts auto, none, or absolute paths of .ttf files separated by commas.
func validFonts(v string) error {
	if v == "auto" || v == "none" {
		return nil
	}
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if !filepath.IsAbs(p) || !strings.EqualFold(filepath.Ext(p), ".ttf") {
			return fmt.Errorf("want auto, none, or absolute paths of TrueType (.ttf) files separated by commas, got %q", p)
		}
	}
	return nil
}

// validBucket accepts S3 bucket names (3-63 lower-case letters, digits, dots and hyphens).
func validBucket(v string) error {
	if len(v) < 3 || len(v) > 63 {
		return errors.New("want 3-63 characters")
	}
	for i, c := range v {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '-' || c == '.') && i > 0 && i < len(v)-1
		if !ok {
			return fmt.Errorf("want lower-case letters, digits, '.' and '-' (not at the ends), got %q", v)
		}
	}
	return nil
}

// validPresignTTL bounds download links: S3 refuses presigned URLs valid for more than 7 days.
func validPresignTTL(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute || d > 7*24*time.Hour {
		return errors.New("want a Go duration from 1m to 168h")
	}
	return nil
}
