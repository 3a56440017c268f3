package mailbox

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Part is a decoded attachment.
type Part struct {
	FileName    string
	ContentType string
	Data        []byte
}

// Parsed is a message taken apart: headers people read, the text and HTML bodies, attachments.
type Parsed struct {
	From        string
	To          []string
	Subject     string
	MessageID   string
	Date        string
	Text        string
	HTML        string
	Attachments []Part
}

// Parse decodes a MIME message (RFC 5322 with multipart bodies, base64 or quoted-printable).
func Parse(raw []byte) (Parsed, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Parsed{}, fmt.Errorf("mailbox: read message: %w", err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		subject = m.Header.Get("Subject")
	}
	p := Parsed{From: m.Header.Get("From"), Subject: subject, Date: m.Header.Get("Date"),
		MessageID: strings.Trim(m.Header.Get("Message-Id"), "<>")}
	if list, err := m.Header.AddressList("To"); err == nil {
		for _, a := range list {
			p.To = append(p.To, a.Address)
		}
	}
	if err := p.walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), "", m.Body); err != nil {
		return Parsed{}, err
	}
	return p, nil
}

func (p *Parsed) walk(contentType, encoding, disposition string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("mailbox: content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("mailbox: multipart: %w", err)
			}
			err = p.walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"),
				part.Header.Get("Content-Disposition"), part)
			if err != nil {
				return err
			}
		}
	}
	data, err := decode(encoding, body)
	if err != nil {
		return err
	}
	disp, dparams, _ := mime.ParseMediaType(disposition)
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	switch {
	case disp == "attachment" || name != "":
		p.Attachments = append(p.Attachments, Part{FileName: name, ContentType: mediaType, Data: data})
	case mediaType == "text/html" && p.HTML == "":
		p.HTML = string(data)
	case mediaType == "text/plain" && p.Text == "":
		p.Text = string(data)
	}
	return nil
}

func decode(encoding string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		// The decoder skips the body's line breaks itself.
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("mailbox: decode %s body: %w", encoding, err)
	}
	return b, nil
}
