package reporttest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Poppler is the path of one of poppler-utils' tools (pdftotext, pdftoppm). Without it the test
// skips, or fails under CI=true, where .ci/run installs it.
func Poppler(t testing.TB, tool string) string {
	t.Helper()
	exe, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required when CI=true (apt-get install poppler-utils): %v", tool, err)
		}
		t.Skipf("%s not installed (apt-get install poppler-utils): %v", tool, err)
	}
	return exe
}

// Text is a whole PDF's text as pdftotext reads it, its runs of white space made one space: for
// sentences, not for glyphs.
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	cmd := exec.Command(Poppler(t, "pdftotext"), "-layout", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
