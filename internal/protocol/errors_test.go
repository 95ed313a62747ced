package protocol

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

var upperSnake = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

func TestErrorCodeTable(t *testing.T) {
	codes := ErrorCodes()
	if len(codes) != len(errorCodeTable) {
		t.Fatalf("ErrorCodes() returned %d codes, table has %d", len(codes), len(errorCodeTable))
	}
	// Kafka at the commit noted in errors.go defines -1..128 with no gaps.
	if got, want := len(codes), 130; got != want {
		t.Errorf("got %d codes, want %d", got, want)
	}
	if codes[0] != ErrUnknownServerError || codes[len(codes)-1] != ErrInvalidRegularExpression {
		t.Errorf("code range is %d..%d, want -1..128", codes[0], codes[len(codes)-1])
	}

	seenNames := map[string]ErrorCode{}
	for i, c := range codes {
		e := errorCodeTable[i]
		if c != e.code {
			t.Errorf("ErrorCodes()[%d] = %d, table has %d", i, c, e.code)
		}
		if i > 0 && c <= codes[i-1] {
			t.Errorf("codes not strictly ascending: %d follows %d", c, codes[i-1])
		}
		if i > 0 && c != codes[i-1]+1 {
			t.Errorf("gap in codes: %d follows %d", c, codes[i-1])
		}
		if !upperSnake.MatchString(e.name) {
			t.Errorf("code %d: name %q is not UPPER_SNAKE", c, e.name)
		}
		if prev, dup := seenNames[e.name]; dup {
			t.Errorf("name %q used by codes %d and %d", e.name, prev, c)
		}
		seenNames[e.name] = c

		if !c.Known() {
			t.Errorf("code %d: Known() = false", c)
		}
		if got := c.Name(); got != e.name {
			t.Errorf("code %d: Name() = %q, want %q", c, got, e.name)
		}
		if got := c.Retriable(); got != e.retriable {
			t.Errorf("code %d: Retriable() = %v, want %v", c, got, e.retriable)
		}
		if got, want := c.Error(), fmt.Sprintf("%s (%d)", e.name, int16(c)); got != want {
			t.Errorf("code %d: Error() = %q, want %q", c, got, want)
		}
		got, ok := ErrorCodeByName(e.name)
		if !ok || got != c {
			t.Errorf("ErrorCodeByName(%q) = %d, %v; want %d, true", e.name, got, ok, c)
		}
	}

	// The caller owns the slice ErrorCodes returns.
	codes[0] = 12345
	if ErrorCodes()[0] != ErrUnknownServerError {
		t.Error("mutating the result of ErrorCodes changed the table")
	}

	// Kafka marks 31 of its codes retriable at the commit noted in errors.go.
	retriable := 0
	for _, e := range errorCodeTable {
		if e.retriable {
			retriable++
		}
	}
	if retriable != 31 {
		t.Errorf("%d retriable codes, want 31", retriable)
	}
}

func TestErrorCodeSpotChecks(t *testing.T) {
	tests := []struct {
		code      ErrorCode
		num       int16
		name      string
		retriable bool
	}{
		{ErrUnknownServerError, -1, "UNKNOWN_SERVER_ERROR", false},
		{ErrNone, 0, "NONE", false},
		{ErrOffsetOutOfRange, 1, "OFFSET_OUT_OF_RANGE", false},
		{ErrCorruptMessage, 2, "CORRUPT_MESSAGE", true},
		{ErrUnknownTopicOrPartition, 3, "UNKNOWN_TOPIC_OR_PARTITION", true},
		{ErrNotLeaderOrFollower, 6, "NOT_LEADER_OR_FOLLOWER", true},
		{ErrRequestTimedOut, 7, "REQUEST_TIMED_OUT", true},
		{ErrBrokerNotAvailable, 8, "BROKER_NOT_AVAILABLE", false},
		{ErrNotCoordinator, 16, "NOT_COORDINATOR", true},
		{ErrInvalidTopicException, 17, "INVALID_TOPIC_EXCEPTION", false},
		{ErrRebalanceInProgress, 27, "REBALANCE_IN_PROGRESS", false},
		{ErrNotController, 41, "NOT_CONTROLLER", true},
		{ErrConcurrentTransactions, 51, "CONCURRENT_TRANSACTIONS", true},
		{ErrKafkaStorageError, 56, "KAFKA_STORAGE_ERROR", true},
		{ErrUnknownProducerID, 59, "UNKNOWN_PRODUCER_ID", false},
		{ErrUnknownTopicID, 100, "UNKNOWN_TOPIC_ID", true},
		{ErrInvalidRegularExpression, 128, "INVALID_REGULAR_EXPRESSION", false},
	}
	for _, tt := range tests {
		if int16(tt.code) != tt.num {
			t.Errorf("%s = %d, want %d", tt.name, tt.code, tt.num)
		}
		if tt.code.Name() != tt.name || tt.code.Retriable() != tt.retriable || !tt.code.Known() {
			t.Errorf("code %d: got (%q, retriable=%v, known=%v), want (%q, retriable=%v, known=true)",
				tt.num, tt.code.Name(), tt.code.Retriable(), tt.code.Known(), tt.name, tt.retriable)
		}
	}
	if got, want := ErrUnknownTopicOrPartition.Error(), "UNKNOWN_TOPIC_OR_PARTITION (3)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := ErrUnknownServerError.Error(), "UNKNOWN_SERVER_ERROR (-1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorCodeUnknown(t *testing.T) {
	for _, c := range []ErrorCode{-2, 129, 130, 200, math.MaxInt16, math.MinInt16} {
		if c.Known() {
			t.Errorf("code %d: Known() = true", c)
		}
		if c.Retriable() {
			t.Errorf("code %d: Retriable() = true", c)
		}
		want := "UNKNOWN_ERROR_CODE_" + strconv.Itoa(int(c))
		if got := c.Name(); got != want {
			t.Errorf("code %d: Name() = %q, want %q", c, got, want)
		}
		if got, want := c.Error(), fmt.Sprintf("%s (%d)", want, int16(c)); got != want {
			t.Errorf("code %d: Error() = %q, want %q", c, got, want)
		}
		if got, ok := ErrorCodeByName(c.Name()); ok {
			t.Errorf("ErrorCodeByName(%q) = %d, true; want not found", c.Name(), got)
		}
	}
	if got := ErrorCode(129).Name(); got != "UNKNOWN_ERROR_CODE_129" {
		t.Errorf("ErrorCode(129).Name() = %q", got)
	}

	// Known is true for exactly the table's codes, across the whole int16 range.
	known := map[ErrorCode]bool{}
	for _, c := range ErrorCodes() {
		known[c] = true
	}
	for i := math.MinInt16; i <= math.MaxInt16; i++ {
		if c := ErrorCode(i); c.Known() != known[c] {
			t.Fatalf("code %d: Known() = %v, want %v", c, c.Known(), known[c])
		}
	}

	for _, name := range []string{"", "none", "Unknown_Server_Error", "NOT_LEADER_FOR_PARTITION", " NONE", "NONE "} {
		if got, ok := ErrorCodeByName(name); ok {
			t.Errorf("ErrorCodeByName(%q) = %d, true; want not found", name, got)
		}
	}
}

func TestErrorCodeAsError(t *testing.T) {
	var err error = ErrNotCoordinator
	wrapped := fmt.Errorf("commit offsets: %w", err)
	if !errors.Is(wrapped, ErrNotCoordinator) {
		t.Error("errors.Is did not find the wrapped code")
	}
	if errors.Is(wrapped, ErrCoordinatorNotAvailable) {
		t.Error("errors.Is matched a different code")
	}
	code, ok := errors.AsType[ErrorCode](wrapped)
	if !ok || code != ErrNotCoordinator || !code.Retriable() {
		t.Errorf("errors.AsType = %d, %v; want %d, true (retriable)", code, ok, ErrNotCoordinator)
	}
	if got, want := wrapped.Error(), "commit offsets: NOT_COORDINATOR (16)"; got != want {
		t.Errorf("wrapped.Error() = %q, want %q", got, want)
	}
}

// goErrName is the documented mapping from a Kafka constant name to the Go
// constant name: "Err" + CamelCase words, with ID kept as an initialism.
func goErrName(kafkaName string) string {
	var b strings.Builder
	b.WriteString("Err")
	for w := range strings.SplitSeq(kafkaName, "_") {
		if w == "ID" {
			b.WriteString(w)
			continue
		}
		b.WriteString(w[:1])
		b.WriteString(strings.ToLower(w[1:]))
	}
	return b.String()
}

// TestErrorCodeConstNames checks, by parsing errors.go, that every ErrorCode
// constant is named after its Kafka name and that constants and table agree.
func TestErrorCodeConstNames(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]int64{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "ErrorCode" {
				continue
			}
			if len(vs.Names) != 1 || len(vs.Values) != 1 {
				t.Fatalf("%s: want one name and one explicit value per constant", fset.Position(vs.Pos()))
			}
			consts[vs.Names[0].Name] = intLiteral(t, vs.Values[0])
		}
	}
	if len(consts) != len(errorCodeTable) {
		t.Errorf("errors.go declares %d ErrorCode constants, table has %d rows", len(consts), len(errorCodeTable))
	}
	for _, e := range errorCodeTable {
		name := goErrName(e.name)
		v, ok := consts[name]
		if !ok {
			t.Errorf("no constant %s for %s (%d)", name, e.name, e.code)
			continue
		}
		if v != int64(e.code) {
			t.Errorf("%s = %d, but table has %s at %d", name, v, e.name, e.code)
		}
	}
}

func intLiteral(t *testing.T, x ast.Expr) int64 {
	t.Helper()
	neg := false
	if u, ok := x.(*ast.UnaryExpr); ok && u.Op == token.SUB {
		neg, x = true, u.X
	}
	lit, ok := x.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		t.Fatalf("constant value %T is not an integer literal", x)
	}
	v, err := strconv.ParseInt(lit.Value, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	if neg {
		v = -v
	}
	return v
}

// Where franz-go's kerr disagrees with Kafka's source, Kafka's source wins.
// These maps list every disagreement; TestErrorCodesMatchKerr fails if either
// side changes.
var (
	// kerrNames: codes kerr names differently (value is kerr's name).
	kerrNames = map[ErrorCode]string{
		// Kafka renamed NOT_LEADER_FOR_PARTITION to NOT_LEADER_OR_FOLLOWER
		// (KIP-392); kerr still uses the old name.
		ErrNotLeaderOrFollower: "NOT_LEADER_FOR_PARTITION",
	}

	// kerrRetriable: codes kerr marks with the opposite retriable flag (value
	// is kerr's flag). Kafka's flag is whether the exception class extends
	// org.apache.kafka.common.errors.RetriableException.
	kerrRetriable = map[ErrorCode]bool{
		// BrokerNotAvailableException extends ApiException, not
		// RetriableException: Kafka says not retriable, kerr says retriable.
		ErrBrokerNotAvailable: true,
		// ConcurrentTransactionsException extends RetriableException (changed
		// from ApiException by KAFKA-14417, Kafka 3.4): Kafka says retriable,
		// kerr says not.
		ErrConcurrentTransactions: false,
		// ShareSessionNotFoundException extends RetriableException (KIP-932):
		// Kafka says retriable, kerr says not.
		ErrShareSessionNotFound: false,
		// InvalidShareSessionEpochException extends RetriableException
		// (KIP-932): Kafka says retriable, kerr says not.
		ErrInvalidShareSessionEpoch: false,
	}

	// kerrOnly: codes kerr knows that the Kafka commit errors.go was taken
	// from does not define yet. They were added to Kafka later and are not in
	// our table because we have not checked them against Kafka's source.
	kerrOnly = map[int16]string{
		129: "REBOOTSTRAP_REQUIRED",
		130: "STREAMS_INVALID_TOPOLOGY",
		131: "STREAMS_INVALID_TOPOLOGY_EPOCH",
		132: "STREAMS_TOPOLOGY_FENCED",
		133: "SHARE_SESSION_LIMIT_REACHED",
		134: "GROUP_DELETION_FAILED",
		135: "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED",
		136: "CONTROLLER_ID_NOT_REGISTERED",
	}

	// kerrLacks: our codes with no kerr.Error. kerr maps 0 to a nil error.
	kerrLacks = []ErrorCode{ErrNone}
)

func TestErrorCodesMatchKerr(t *testing.T) {
	const maxProbe = 200
	if last := ErrorCodes()[len(ErrorCodes())-1]; last >= maxProbe {
		t.Fatalf("probe limit %d does not cover our highest code %d", maxProbe, last)
	}

	if kerr.ErrorForCode(0) != nil {
		t.Errorf("kerr.ErrorForCode(0) = %v, want nil", kerr.ErrorForCode(0))
	}

	gotNames := map[ErrorCode]string{}
	gotRetriable := map[ErrorCode]bool{}
	gotOnly := map[int16]string{}
	kerrKnows := map[ErrorCode]bool{}
	for c := int16(-1); c <= maxProbe; c++ {
		err := kerr.ErrorForCode(c)
		if err == nil {
			continue // code 0, success
		}
		var ke *kerr.Error
		if !errors.As(err, &ke) {
			t.Fatalf("kerr.ErrorForCode(%d) returned %T, not *kerr.Error", c, err)
		}
		if ke.Code != c {
			continue // unknown to kerr: it answers UNKNOWN_SERVER_ERROR
		}
		code := ErrorCode(c)
		kerrKnows[code] = true
		if !code.Known() {
			gotOnly[c] = ke.Message
			continue
		}
		if ke.Message != code.Name() {
			gotNames[code] = ke.Message
		}
		if ke.Retriable != code.Retriable() {
			gotRetriable[code] = ke.Retriable
		}
	}

	if !maps.Equal(gotNames, kerrNames) {
		t.Errorf("name differences from kerr = %v, want exactly %v", gotNames, kerrNames)
	}
	if !maps.Equal(gotRetriable, kerrRetriable) {
		t.Errorf("retriable differences from kerr (kerr's flag) = %v, want exactly %v", gotRetriable, kerrRetriable)
	}
	if !maps.Equal(gotOnly, kerrOnly) {
		t.Errorf("codes kerr knows and we do not = %v, want exactly %v", gotOnly, kerrOnly)
	}

	var lacks []ErrorCode
	for _, c := range ErrorCodes() {
		if !kerrKnows[c] {
			lacks = append(lacks, c)
		}
	}
	if !slices.Equal(lacks, kerrLacks) {
		t.Errorf("our codes kerr lacks = %v, want exactly %v", lacks, kerrLacks)
	}
	names := make([]string, len(lacks))
	for i, c := range lacks {
		names[i] = c.Error()
	}
	t.Logf("compared %d codes with kerr; kerr lacks %v; kerr-only codes %v",
		len(kerrKnows)-len(gotOnly), names, slices.Sorted(maps.Keys(gotOnly)))
}
