package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReadProperties(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Property
	}{
		{"separators", "a=1\nb:2\nc 3\nd\t4\ne = 5\nf :  6\ng   =7", []Property{
			{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}, {"d", "4", 4}, {"e", "5", 5}, {"f", "6", 6}, {"g", "7", 7}}},
		{"only the first separator counts", "a=b=c\nd:e:f\ng h=i", []Property{
			{"a", "b=c", 1}, {"d", "e:f", 2}, {"g", "h=i", 3}}},
		{"key without value", "alone\nempty=\ncolon:", []Property{
			{"alone", "", 1}, {"empty", "", 2}, {"colon", "", 3}}},
		{"comments and blank lines", "# comment\n! also a comment\n   # indented comment\n\n \t\f\na=1", []Property{
			{"a", "1", 6}}},
		{"comment markers inside values are kept", "a=x # not a comment\nb=!x", []Property{
			{"a", "x # not a comment", 1}, {"b", "!x", 2}}},
		{"leading blanks dropped, trailing kept", "   a = v  ", []Property{{"a", "v  ", 1}}},
		{"line endings", "a=1\r\nb=2\rc=3\n", []Property{{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}}},
		{"continuation", "listeners=PLAINTEXT://:9092,\\\n    CONTROLLER://:9093\nnext=1", []Property{
			{"listeners", "PLAINTEXT://:9092,CONTROLLER://:9093", 1}, {"next", "1", 3}}},
		{"continuation over several lines", "a=1\\\n  2\\\n\t3\nb=4", []Property{{"a", "123", 1}, {"b", "4", 4}}},
		{"continuation keeps comment markers", "a=1\\\n# 2\nb=3", []Property{{"a", "1# 2", 1}, {"b", "3", 3}}},
		{"continuation into a blank line", "a=1\\\n\nb=2", []Property{{"a", "1", 1}, {"b", "2", 3}}},
		{"comment lines do not continue", "# comment \\\na=1", []Property{{"a", "1", 2}}},
		{"even backslashes do not continue", "a=x\\\\\nb=2", []Property{{"a", `x\`, 1}, {"b", "2", 2}}},
		{"continuation at end of input", "a=1\\", []Property{{"a", "1", 1}}},
		{"escapes", `a=tab\there\nnew\rret\fform`, []Property{{"a", "tab\there\nnew\rret\fform", 1}}},
		{"escaped separators in keys", `my\=key=v` + "\n" + `my\:key:v` + "\n" + `my\ key v`, []Property{
			{"my=key", "v", 1}, {"my:key", "v", 2}, {"my key", "v", 3}}},
		{"other escapes stand for the character", `a=\q\\\#\!`, []Property{{"a", `q\#!`, 1}}},
		{"unicode escapes", `a=caf\u00e9 \u20AC`, []Property{{"a", "café €", 1}}},
		{"surrogate pairs", `a=\uD83D\uDE00!`, []Property{{"a", "😀!", 1}}},
		{"utf-8 input", "a=grüße", []Property{{"a", "grüße", 1}}},
		{"byte-order mark", "\ufeffnode.id=1", []Property{{"node.id", "1", 1}}},
		{"last duplicate kept by ParseProperties, both listed", "a=1\na=2", []Property{{"a", "1", 1}, {"a", "2", 2}}},
		{"empty input", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadProperties(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParsePropertiesLastWins(t *testing.T) {
	m, err := ParseProperties(strings.NewReader("a=1\nb=2\na=3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"a": "3", "b": "2"}; !reflect.DeepEqual(m, want) {
		t.Errorf("got %v, want %v", m, want)
	}
}

func TestReadPropertiesErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		line int
		msg  string
	}{
		{"a=1\nb=\\u12\n", 2, `malformed \uxxxx escape`},
		{"# c\n\na=\\uZZZZ", 3, `malformed \uxxxx escape`},
		{"a=1\nb=2\\\n  \\u00\nc=3", 2, `malformed \uxxxx escape`}, // the logical line starts on 2
		{"a=1\n=value\n", 2, "empty key"},
		{"  :value", 1, "empty key"},
	} {
		_, err := ParseProperties(strings.NewReader(tc.in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: got %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if se.Line != tc.line || !strings.Contains(se.Error(), tc.msg) {
			t.Errorf("%q: got %q (line %d), want line %d and %q", tc.in, se, se.Line, tc.line, tc.msg)
		}
	}
}
