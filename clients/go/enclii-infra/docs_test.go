package encliiinfra

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The exit table of docs/control-plane.md#exit-status (test/control-contract.test.ts holds it to
// model/contract.ts) is this client's: each code's name, statuses and whether it is an error.
func TestExitStatusesAreTheContractsTable(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/control-plane.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(doc), "| exit | name | status | meaning |\n|---|---|---|---|\n")
	table, _, _ = strings.Cut(table, "\n\n")
	row := regexp.MustCompile("^\\| (\\d+) \\| `(\\w+)` \\| ([^|]+) \\|")
	var rows []string
	for _, line := range strings.Split(table, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a row of the exit table: %q", line)
		}
		statuses := regexp.MustCompile("`([a-z-]+)`").FindAllStringSubmatch(m[3], -1)
		var names []string
		for _, s := range statuses {
			names = append(names, s[1])
		}
		rows = append(rows, m[1]+" "+m[2]+" "+strings.Join(names, ","))
	}
	var ours []string
	for _, x := range exitStatuses {
		var names []string
		for _, s := range x.statuses {
			names = append(names, string(s))
		}
		ours = append(ours, strconv.Itoa(x.code)+" "+x.name+" "+strings.Join(names, ","))
	}
	if strings.Join(rows, "\n") != strings.Join(ours, "\n") {
		t.Errorf("docs/control-plane.md's exit table:\n%s\nthis client's:\n%s", strings.Join(rows, "\n"), strings.Join(ours, "\n"))
	}
}
