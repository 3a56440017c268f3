// Package objstore keeps files in S3 (or any S3-API server, such as the local one `make dev`
// starts): private objects, encrypted at rest, handed out through presigned GET URLs only.
package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// ErrNotFound is returned for a key (or bucket) that does not exist.
var ErrNotFound = errors.New("object not found")

// Config says where objects go.
type Config struct {
	// Endpoint is the base URL of an S3-API server (e.g. http://127.0.0.1:9100); empty means AWS.
	// A custom endpoint is addressed path-style (http://host/bucket/key): local servers do not
	// resolve bucket subdomains.
	Endpoint string
	Bucket   string
	// Region is the bucket's region; empty means the SDK's (AWS_REGION), else us-east-1.
	Region string
	// SSE is the server-side encryption every upload asks for: "AES256" (SSE-S3, the default) or
	// "aws:kms" with SSEKMSKeyID (empty: the bucket's default key).
	SSE         string
	SSEKMSKeyID string
	// AccessKeyID and SecretAccessKey are static credentials; empty means the SDK's default
	// chain (environment, shared config, ECS task role, instance profile).
	AccessKeyID     string
	SecretAccessKey string
	// PresignTTL is how long a download link works; zero means 15 minutes.
	PresignTTL time.Duration
	// HTTPClient overrides the SDK's HTTP client (tests); nil means the SDK's default.
	HTTPClient *http.Client
}

// Store reads and writes objects in one bucket.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	ttl     time.Duration
	local   bool
	// sse and kmsKeyID are the encryption every Put asks for.
	sse      types.ServerSideEncryption
	kmsKeyID string
}

// New builds a store; nothing is contacted until the first call.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("objstore: bucket is required")
	}
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("objstore: aws config: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	sse := types.ServerSideEncryption(cfg.SSE)
	switch sse {
	case "":
		sse = types.ServerSideEncryptionAes256
	case types.ServerSideEncryptionAes256, types.ServerSideEncryptionAwsKms:
	default:
		return nil, fmt.Errorf("objstore: server-side encryption %q: want AES256 or aws:kms", cfg.SSE)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
			// S3-compatible servers differ in which of the newer integrity checksums they
			// accept; send and check them only where an operation requires them.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	ttl := cfg.PresignTTL
	if ttl <= 0 {
		ttl = 15 * time.Minute
	}
	return &Store{client: client, presign: s3.NewPresignClient(client), bucket: cfg.Bucket, ttl: ttl, local: cfg.Endpoint != "",
		sse: sse, kmsKeyID: cfg.SSEKMSKeyID}, nil
}

// Bucket is the bucket the store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Object is a file to store.
type Object struct {
	Key         string
	Body        []byte
	ContentType string
	// FileName, when set, makes browsers save the download under that name.
	FileName string
}

// Put writes an object, encrypted at rest (SSE-S3 AES-256 by default, or SSE-KMS). Writing the
// same key again replaces it, so a retried upload is harmless.
func (s *Store) Put(ctx context.Context, o Object) error {
	in := &s3.PutObjectInput{
		Bucket:               aws.String(s.bucket),
		Key:                  aws.String(o.Key),
		Body:                 bytes.NewReader(o.Body),
		ContentLength:        aws.Int64(int64(len(o.Body))),
		ContentType:          aws.String(o.ContentType),
		ServerSideEncryption: s.sse,
	}
	if s.kmsKeyID != "" {
		in.SSEKMSKeyId = aws.String(s.kmsKeyID)
	}
	if o.FileName != "" {
		in.ContentDisposition = aws.String(fmt.Sprintf("attachment; filename=%q", o.FileName))
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("objstore: put s3://%s/%s: %w", s.bucket, o.Key, err)
	}
	return nil
}

// Get reads an object whole (reports are small).
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("objstore: get s3://%s/%s: %w", s.bucket, key, notFound(err))
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("objstore: read s3://%s/%s: %w", s.bucket, key, err)
	}
	return b, nil
}

// Info is what S3 says about a stored object.
type Info struct {
	Size                 int64
	ContentType          string
	ServerSideEncryption string
}

// Head reads an object's metadata.
func (s *Store) Head(ctx context.Context, key string) (Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return Info{}, fmt.Errorf("objstore: head s3://%s/%s: %w", s.bucket, key, notFound(err))
	}
	return Info{Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		ServerSideEncryption: string(out.ServerSideEncryption)}, nil
}

// PresignGet returns a URL that downloads the object without credentials until it expires. The
// object stays private: the URL is signed for this one GET.
func (s *Store) PresignGet(ctx context.Context, key string) (url string, expires time.Time, err error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)},
		s3.WithPresignExpires(s.ttl))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("objstore: presign s3://%s/%s: %w", s.bucket, key, err)
	}
	return req.URL, time.Now().Add(s.ttl), nil
}

// EnsureBucket creates the bucket on a local S3-API server when it is missing. Against AWS it
// does nothing: production buckets are made by the deployment, with their policies.
func (s *Store) EnsureBucket(ctx context.Context) error {
	if !s.local {
		return nil
	}
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	if err == nil {
		return nil
	}
	if !errors.Is(notFound(err), ErrNotFound) {
		return fmt.Errorf("objstore: head bucket %s: %w", s.bucket, err)
	}
	_, err = s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("objstore: create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// notFound maps S3's several "does not exist" answers to ErrNotFound.
func notFound(err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var nsb *types.NoSuchBucket
	if errors.As(err, &nsk) || errors.As(err, &nf) || errors.As(err, &nsb) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchBucket") {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
