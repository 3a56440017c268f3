// Package mailbox is a small SMTP server that accepts every message and keeps it: the local
// mailbox of `make dev` (cmd/devservices) and the real SMTP server of the tests. It speaks
// enough SMTP (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for any client library,
// without TLS or authentication, so it is for loopback use only.
package mailbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// maxMessage bounds one message (a report PDF is well under 1 MB).
const maxMessage = 25 << 20

// Received is one delivered message as the server got it.
type Received struct {
	From string
	To   []string
	Data []byte // the message as sent, headers and body, CRLF line ends
	At   time.Time
}

// Server accepts SMTP connections on a listener.
type Server struct {
	// OnMessage, when set, is called for each message after it is stored.
	OnMessage func(Received)

	ln     net.Listener
	mu     sync.Mutex
	reject func(addr string) (code int, msg string)
	hangUp bool
	limit  int // the largest message taken (SIZE); 0: maxMessage
	msgs   []Received
	wg     sync.WaitGroup
	conns  map[net.Conn]struct{}
	closed bool
}

// Listen starts a server on addr (e.g. 127.0.0.1:0 for a free port).
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailbox: listen %s: %w", addr, err)
	}
	s := &Server{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// RejectRecipients makes the server answer RCPT TO with fn's reply when fn returns a code other
// than 0 (550 for an unknown mailbox, 450 for one to try later), as a real server refuses an
// address.
func (s *Server) RejectRecipients(fn func(addr string) (code int, msg string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = fn
}

func (s *Server) rejection(addr string) (int, string) {
	s.mu.Lock()
	fn := s.reject
	s.mu.Unlock()
	if fn == nil {
		return 0, ""
	}
	return fn(addr)
}

// HangUpAfterAccepting makes the server close the connection right after its 250 to a message's
// DATA, without waiting for QUIT: a server that goes away (or a connection that drops) once it
// has taken the message, which is then the server's to deliver.
func (s *Server) HangUpAfterAccepting(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangUp = on
}

func (s *Server) hangsUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hangUp
}

// LimitMessageSize makes the server advertise SIZE n and answer a larger message's end of DATA
// with 552 (message too large), as a real server with a smaller limit does; 0 restores maxMessage.
func (s *Server) LimitMessageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = n
}

func (s *Server) sizeLimit() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit > 0 {
		return s.limit
	}
	return maxMessage
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Messages returns what was received so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Close stops accepting, ends open sessions and waits for them.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
			s.session(c)
		}()
	}
}

func (s *Server) store(r Received) {
	s.mu.Lock()
	s.msgs = append(s.msgs, r)
	s.mu.Unlock()
	if s.OnMessage != nil {
		s.OnMessage(r)
	}
}

// session runs one SMTP conversation.
func (s *Server) session(c net.Conn) {
	tp := textproto.NewConn(c)
	reply := func(code int, msg string) bool { return tp.PrintfLine("%d %s", code, msg) == nil }
	if !reply(220, "localhost paysplit mailbox ready") {
		return
	}
	var from string
	var to []string
	for {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Minute))
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if tp.PrintfLine("250-localhost greets %s", arg) != nil ||
				tp.PrintfLine("250-8BITMIME") != nil ||
				tp.PrintfLine("250-SIZE %d", s.sizeLimit()) != nil ||
				tp.PrintfLine("250 SMTPUTF8") != nil {
				return
			}
		case "HELO":
			reply(250, "localhost")
		case "MAIL":
			addr, ok := pathArg(arg, "FROM:")
			if !ok {
				reply(501, "syntax: MAIL FROM:<address>")
				continue
			}
			from, to = addr, nil
			reply(250, "OK")
		case "RCPT":
			addr, ok := pathArg(arg, "TO:")
			if !ok || addr == "" {
				reply(501, "syntax: RCPT TO:<address>")
				continue
			}
			if code, msg := s.rejection(addr); code != 0 {
				reply(code, msg)
				continue
			}
			to = append(to, addr)
			reply(250, "OK")
		case "DATA":
			if len(to) == 0 {
				reply(503, "RCPT first")
				continue
			}
			if !reply(354, "end data with <CR><LF>.<CR><LF>") {
				return
			}
			data, err := readData(tp, s.sizeLimit())
			if errors.Is(err, errTooLarge) {
				reply(552, "message too large")
				continue
			}
			if err != nil {
				return
			}
			s.store(Received{From: from, To: to, Data: data, At: time.Now()})
			from, to = "", nil
			if !reply(250, "OK queued") || s.hangsUp() {
				return
			}
		case "RSET":
			from, to = "", nil
			reply(250, "OK")
		case "NOOP":
			reply(250, "OK")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			reply(502, "command not implemented")
		}
	}
}

var errTooLarge = errors.New("message too large")

// readData reads the dot-terminated message and undoes dot-stuffing, keeping CRLF line ends.
func readData(tp *textproto.Conn, limit int) ([]byte, error) {
	r := tp.DotReader()
	var b strings.Builder
	br := bufio.NewReader(io.LimitReader(r, int64(limit)+1))
	for {
		line, err := br.ReadString('\n')
		b.WriteString(strings.TrimSuffix(line, "\n"))
		if strings.HasSuffix(line, "\n") {
			b.WriteString("\r\n")
		}
		if b.Len() > limit {
			_, _ = io.Copy(io.Discard, r)
			return nil, errTooLarge
		}
		if err == io.EOF {
			return []byte(b.String()), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// pathArg reads "FROM:<a@b> SIZE=123" into "a@b".
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}
