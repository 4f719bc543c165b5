package objstore

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PathStyle reports whether requests name the bucket in the path
// (http://host/bucket/key) rather than in the host name: everywhere but
// AWS itself (MinIO, SeaweedFS and Ceph RGW at an IP address or a plain
// host name need it), and on AWS for bucket names with dots, which TLS
// certificates do not cover. minio-go's BucketLookupAuto decides alike.
func (c Config) PathStyle() bool {
	return !strings.HasSuffix(c.Endpoint, ".amazonaws.com") || strings.Contains(c.Bucket, ".")
}

// AWSClient is an AWS SDK for Go v2 client of the same store, for
// libraries built on that SDK (tusd's s3store): the same endpoint,
// region and addressing, credentials from the same places (the AWS_*
// variables, ~/.aws/credentials and config, an instance role), and
// connection timeouts like the store's own.
//
// Each request is tried 3 times within a few seconds: the callers are
// tus requests, whose clients resume by themselves, so a store that stays
// away fails the request soon with an error naming it instead of
// holding the connection for minutes. The SDK's client-side retry quota
// is off: during an outage it would run dry and then refuse requests
// with "retry quota exceeded" for a while after the store is back.
func (s *Store) AWSClient(ctx context.Context) (*s3.Client, error) {
	// The SDK's own client, which takes AWS_CA_BUNDLE.
	hc := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout, d.KeepAlive = 10*time.Second, 30*time.Second }).
		WithTransportOptions(func(tr *http.Transport) { tr.ResponseHeaderTimeout = 60 * time.Second })
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(s.cfg.Region),
		awsconfig.WithHTTPClient(hc),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 2 * time.Second
				o.RateLimiter = ratelimit.None
			})
		}),
		// Checksums only where the API demands them: S3-compatible
		// servers vary in what they accept of the newer trailing ones.
		awsconfig.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		awsconfig.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if s.cfg.Creds != nil {
		creds := s.cfg.Creds
		opts = append(opts, awsconfig.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			v, err := creds.GetWithContext(nil) // the default HTTP client
			if err != nil {
				return aws.Credentials{}, err
			}
			return aws.Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey, SessionToken: v.SessionToken}, nil
		})))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("object store %s: AWS configuration: %w", s.cfg, err)
	}
	scheme := "http://"
	if s.cfg.TLS {
		scheme = "https://"
	}
	return s3.NewFromConfig(ac, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(scheme + s.cfg.Endpoint)
		o.UsePathStyle = s.cfg.PathStyle()
	}), nil
}
