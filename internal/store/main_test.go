package store_test

import (
	"testing"

	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
