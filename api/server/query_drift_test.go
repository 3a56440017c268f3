package server_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
)

// TestEachOperationListsExactlyTheQueryParametersItsHandlerReads: the API takes the query
// parameters openapi.yaml lists for an operation and refuses any other (400 unknown_parameter),
// so the list must be what the handler reads. One the handler reads that is not listed can never
// reach it (its filter would be refused); one listed that the handler never reads is taken and
// silently ignored, the very mistake the refusal exists to catch (?client= listing every client's
// payments). The reads are found in the source: c.QueryParam("name") and q.Get("name") on
// q := c.QueryParams(), in the route's handler and every function of the package it calls,
// transitively (a helper that reads a parameter in one branch counts: over, never under). A read
// the scan cannot name (c.QueryParam(v), the whole c.QueryParams() or URL.Query(), FormValue)
// fails the test, so no read escapes it.
func TestEachOperationListsExactlyTheQueryParametersItsHandlerReads(t *testing.T) {
	a := newAPI(t, nil)
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPIJSON)
	require.NoError(t, err)
	pkg := parseQueryReads(t)
	require.Equal(t, []string{"client_id"}, pkg.reachable("scope").names(), "the scan finds a helper's read")
	require.Equal(t, []string{"cursor", "limit"}, pkg.reachable("limitParam", "decodeCursor").names())

	var problems []string
	checked := 0
	for _, r := range a.srv.Routes() {
		if r.Method == echo.RouteNotFound || !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		handler := handlerFunc(r.Name)
		require.Contains(t, pkg.funcs, handler, "route %s %s: handler %s (%s) found in the source", r.Method, r.Path, handler, r.Name)
		reads := pkg.reachable(handler)
		for _, w := range reads.wholesale {
			problems = append(problems, r.Method+" "+r.Path+": "+w)
		}
		op := doc.Paths.Find(openAPIPath(r.Path)).GetOperation(r.Method)
		require.NotNil(t, op, "%s %s is documented", r.Method, r.Path)
		var listed []string
		for _, p := range append(doc.Paths.Find(openAPIPath(r.Path)).Parameters, op.Parameters...) {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				listed = append(listed, p.Value.Name)
			}
		}
		for _, name := range reads.names() {
			if !slices.Contains(listed, name) {
				problems = append(problems, r.Method+" "+r.Path+": reads ?"+name+" (in "+reads.where[name]+"), which openapi.yaml does not list for it, so the API refuses it")
			}
		}
		for _, name := range listed {
			if _, ok := reads.where[name]; !ok {
				problems = append(problems, r.Method+" "+r.Path+": openapi.yaml lists ?"+name+", which its handler never reads: taken and ignored")
			}
		}
		checked++
	}
	sort.Strings(problems)
	require.Empty(t, problems)
	require.Greater(t, checked, 50)
}

var majorVersion = regexp.MustCompile(`^v[0-9]+$`)

// handlerFunc is the source function of a route's handler from its runtime name:
// "paysplit/api/server.(*Server).listPayments-fm" → "listPayments", and a handler a function
// makes ("(*Server).adminAction.func1", or "New.(*Server).adminAction.func7" inlined) → the
// function that makes it, closure and all.
func handlerFunc(runtimeName string) string {
	name := runtimeName[strings.LastIndex(runtimeName, "/")+1:]
	name = strings.TrimPrefix(name, "server.")
	// Inlined into New, a made handler is "New.(*Server).adminAction.func7".
	if i := strings.LastIndex(name, "(*Server)."); i >= 0 {
		name = name[i+len("(*Server)."):]
	}
	name = strings.TrimSuffix(name, "-fm")
	if i := strings.Index(name, "."); i >= 0 {
		name = name[:i]
	}
	return name
}

// queryFunc is what one function of the package does with the query: the parameters it reads by
// name, its reads that name none (wholesale), and the package's functions it calls or refers to.
type queryFunc struct {
	reads     map[string]token.Position
	wholesale []string
	calls     []string
}

type queryPkg struct{ funcs map[string]*queryFunc }

// parseQueryReads scans the package's non-test source. Functions are keyed by name alone
// (methods of different types with one name merge), which can only over-count.
func parseQueryReads(t *testing.T) *queryPkg {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	pkg := &queryPkg{funcs: map[string]*queryFunc{}}
	var decls []*ast.FuncDecl
	imports := map[*ast.FuncDecl]map[string]bool{} // the names a declaration's file imports packages as
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		imported := map[string]bool{}
		for _, im := range file.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			parts := strings.Split(path, "/")
			name := parts[len(parts)-1]
			if len(parts) > 1 && majorVersion.MatchString(name) { // github.com/labstack/echo/v4 is echo
				name = parts[len(parts)-2]
			}
			if im.Name != nil {
				name = im.Name.Name
			}
			imported[name] = true
		}
		for _, d := range file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				decls = append(decls, fd)
				imports[fd] = imported
				if pkg.funcs[fd.Name.Name] == nil {
					pkg.funcs[fd.Name.Name] = &queryFunc{reads: map[string]token.Position{}}
				}
			}
		}
	}
	for _, fd := range decls {
		f := pkg.funcs[fd.Name.Name]
		// Variables holding c.QueryParams(), whose Get("name") is a read by name.
		values := map[string]bool{}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 && isCallOf(as.Rhs[0], "QueryParams") {
				if id, ok := as.Lhs[0].(*ast.Ident); ok {
					values[id.Name] = true
				}
			}
			return true
		})
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.AssignStmt:
				if len(x.Rhs) == 1 && isCallOf(x.Rhs[0], "QueryParams") {
					if id, ok := x.Lhs[0].(*ast.Ident); ok && values[id.Name] {
						// Walk the left side only: the call itself is accounted for.
						return false
					}
				}
			case *ast.CallExpr:
				sel, _ := x.Fun.(*ast.SelectorExpr)
				switch {
				case sel != nil && sel.Sel.Name == "QueryParam":
					f.read(fset, x, fd.Name.Name)
				case sel != nil && sel.Sel.Name == "Get" && isIdentIn(sel.X, values):
					f.read(fset, x, fd.Name.Name)
				case sel != nil && sel.Sel.Name == "QueryParams",
					sel != nil && sel.Sel.Name == "Query" && isSelectorOf(sel.X, "URL"),
					sel != nil && slices.Contains([]string{"FormValue", "FormParams", "ParseForm", "QueryString"}, sel.Sel.Name):
					f.wholesale = append(f.wholesale, fd.Name.Name+" ("+fset.Position(x.Pos()).String()+") reads the query other than by c.QueryParam(\"name\"): read each parameter so, for the scan to see it")
				}
				fun := x.Fun
				if ix, ok := fun.(*ast.IndexExpr); ok { // a generic function
					fun = ix.X
				}
				if sel, ok := fun.(*ast.SelectorExpr); ok {
					if isIdentIn(sel.X, imports[fd]) {
						return true // another package's function (errors.New is not this package's New)
					}
					fun = sel.Sel
				}
				if id, ok := fun.(*ast.Ident); ok && pkg.funcs[id.Name] != nil {
					f.calls = append(f.calls, id.Name)
				}
			case *ast.SelectorExpr:
				// A method value handed on (s.audited's callers pass closures; a handler may pass s.x).
				if pkg.funcs[x.Sel.Name] != nil && !isIdentIn(x.X, imports[fd]) {
					f.calls = append(f.calls, x.Sel.Name)
				}
			}
			return true
		})
	}
	return pkg
}

func (f *queryFunc) read(fset *token.FileSet, call *ast.CallExpr, in string) {
	if len(call.Args) == 1 {
		if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if name, err := strconv.Unquote(lit.Value); err == nil {
				f.reads[name] = fset.Position(call.Pos())
				return
			}
		}
	}
	f.wholesale = append(f.wholesale, in+" ("+fset.Position(call.Pos()).String()+") reads a query parameter whose name is not a literal: name it, so the scan sees it")
}

func isCallOf(e ast.Expr, method string) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == method
}

func isSelectorOf(e ast.Expr, field string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == field
}

func isIdentIn(e ast.Expr, set map[string]bool) bool {
	id, ok := e.(*ast.Ident)
	return ok && set[id.Name]
}

// queryReads is what a handler reads, with where it reads each.
type queryReads struct {
	where     map[string]string
	wholesale []string
}

func (r queryReads) names() []string {
	var out []string
	for n := range r.where {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// reachable gathers the reads of the functions named and of all they call in the package.
func (p *queryPkg) reachable(roots ...string) queryReads {
	out := queryReads{where: map[string]string{}}
	seen := map[string]bool{}
	stack := append([]string(nil), roots...)
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f := p.funcs[name]
		if seen[name] || f == nil {
			continue
		}
		seen[name] = true
		for param, pos := range f.reads {
			out.where[param] = filepath.Base(pos.Filename) + ":" + strconv.Itoa(pos.Line)
		}
		out.wholesale = append(out.wholesale, f.wholesale...)
		stack = append(stack, f.calls...)
	}
	return out
}
