// Command devservices runs the local stand-ins `make dev` uses for the weekly reports and KPIs: an
// S3-API server (gofakes3, objects kept on disk), an SMTP server whose mailbox a developer reads in
// the browser (each message with its HTML and text bodies and its attachments), and a GA4 Data
// API fake with made-up traffic for any property (ga4.go), whose service-account key it writes
// for the worker and the API. Loopback only: no authentication, no TLS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"

	"paysplit/internal/mailer/mailbox"
)

type options struct {
	S3Addr, SMTPAddr, HTTPAddr, GA4Addr, Dir string
	// now is the GA4 fake's clock (nil: time.Now), which says up to which hour it has traffic.
	now func() time.Time
}

func main() {
	var o options
	flag.StringVar(&o.S3Addr, "s3", "127.0.0.1:9100", "S3-API listen address")
	flag.StringVar(&o.SMTPAddr, "smtp", "127.0.0.1:1025", "SMTP listen address")
	flag.StringVar(&o.HTTPAddr, "http", "127.0.0.1:8025", "mailbox web page listen address")
	flag.StringVar(&o.GA4Addr, "ga4", "127.0.0.1:8026", "GA4 Data API fake listen address")
	flag.StringVar(&o.Dir, "dir", ".data/devservices", "where objects, mails and the GA4 key (ga4/"+ga4KeyFile+") are kept")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, err := start(o, logger)
	if err != nil {
		logger.Error("devservices", "error", err)
		os.Exit(1)
	}
	logger.Info("devservices up", "s3", "http://"+svc.s3Addr, "smtp", svc.box.Addr(), "mailbox", "http://"+svc.httpAddr,
		"ga4", "http://"+svc.ga4Addr, "ga4_key", svc.ga4Key, "dir", o.Dir)
	<-ctx.Done()
	svc.close()
}

type services struct {
	s3Addr, httpAddr, ga4Addr string
	ga4Key                    string // the service-account key file of the GA4 fake
	box                       *mailbox.Server
	mails                     *mails
	servers                   []*http.Server
}

// start serves S3, the mailbox page and the GA4 fake and accepts mail; objects and mails already
// in o.Dir are served again. The GA4 key is written anew, naming the fake's address.
func start(o options, logger *slog.Logger) (*services, error) {
	fs, err := s3afero.FsPath(filepath.Join(o.Dir, "s3"), s3afero.FsPathCreateAll)
	if err != nil {
		return nil, fmt.Errorf("s3 directory: %w", err)
	}
	backend, err := s3afero.MultiBucket(fs)
	if err != nil {
		return nil, fmt.Errorf("s3 backend: %w", err)
	}
	fake := gofakes3.New(backend, gofakes3.WithAutoBucket(true), gofakes3.WithLogger(gofakes3.DiscardLog()))

	m, err := openMails(filepath.Join(o.Dir, "mail"))
	if err != nil {
		return nil, err
	}
	box, err := mailbox.Listen(o.SMTPAddr)
	if err != nil {
		return nil, err
	}
	box.OnMessage = func(r mailbox.Received) {
		n, err := m.add(r.Data, r.At)
		if err != nil {
			logger.Error("keep mail", "error", err)
			return
		}
		logger.Info("mail received", "id", n, "recipients", len(r.To))
	}
	svc := &services{box: box, mails: m}
	now := o.now
	if now == nil {
		now = time.Now
	}
	ga4 := newDemoGA4(now)
	for _, s := range []struct {
		addr string
		h    http.Handler
		dst  *string
	}{{o.S3Addr, fake.Server(), &svc.s3Addr}, {o.HTTPAddr, m.handler(), &svc.httpAddr}, {o.GA4Addr, ga4, &svc.ga4Addr}} {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			svc.close()
			return nil, fmt.Errorf("listen %s: %w", s.addr, err)
		}
		*s.dst = ln.Addr().String()
		srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 5 * time.Second}
		svc.servers = append(svc.servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("serve", "addr", s.addr, "error", err)
			}
		}()
	}
	if svc.ga4Key, err = ga4.writeKey(filepath.Join(o.Dir, "ga4"), "http://"+svc.ga4Addr); err != nil {
		svc.close()
		return nil, err
	}
	return svc, nil
}

func (s *services) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	_ = s.box.Close()
}
