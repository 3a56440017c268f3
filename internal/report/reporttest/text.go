package reporttest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Text is a whole PDF's text as pdftotext (poppler-utils) reads it, its runs of white space made
// one space: for sentences, not for glyphs. Without pdftotext the test skips, or fails under
// CI=true, where .ci/run installs it.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	exe, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pdftotext is required when CI=true (apt-get install poppler-utils): %v", err)
		}
		t.Skipf("pdftotext not installed: %v", err)
	}
	cmd := exec.Command(exe, "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
