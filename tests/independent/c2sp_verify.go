// Command c2sp-verify is an independent verifier for custody's evidence
// bundles and its public log, written from the C2SP specifications on top of
// Go's golang.org/x/mod/sumdb/note (signed notes, Ed25519 verifier keys) and
// golang.org/x/mod/sumdb/tlog (RFC 6962 hashing, inclusion proofs, tile
// authentication). It shares no code with custody: the only input it trusts
// is the log's verifier key.
//
//	c2sp-verify bundle FILE.zip VKEY
//	c2sp-verify tiles BASEURL VKEY INDEX...
//
// It prints one line per checked entry and "OK ..." on success; on any
// failure it prints "FAIL: <reason>" to stderr and exits 1 (2 on usage
// errors).
//
// Specifications implemented here:
//   - c2sp.org/signed-note (via golang.org/x/mod/sumdb/note)
//   - c2sp.org/tlog-checkpoint (parsed below)
//   - c2sp.org/tlog-proof (tlog-proof@v1 files, parsed below)
//   - c2sp.org/tlog-tiles (tile paths, entry bundles; tiles authenticated by
//     tlog.TileHashReader against the signed tree hash)
//
// Build (GOPATH mode, Debian golang-golang-x-mod-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o c2sp-verify c2sp_verify.go
package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	proofHeader  = "c2sp.org/tlog-proof@v1"
	tileHeight   = 8
	tileWidth    = 1 << tileHeight
	maxMember    = 64 << 20
	maxProofHash = 64
)

var b64 = base64.StdEncoding.Strict()

type failure struct{ msg string }

func (f failure) Error() string { return f.msg }

func failf(format string, args ...interface{}) error {
	return failure{fmt.Sprintf(format, args...)}
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "bundle":
		if len(os.Args) != 4 {
			usage()
		}
		err = verifyBundle(os.Args[2], os.Args[3])
	case "tiles":
		if len(os.Args) < 5 {
			usage()
		}
		err = verifyTiles(os.Args[2], os.Args[3], os.Args[4:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: c2sp-verify bundle FILE.zip VKEY")
	fmt.Fprintln(os.Stderr, "       c2sp-verify tiles BASEURL VKEY INDEX...")
	os.Exit(2)
}

// checkpoint is a parsed c2sp.org/tlog-checkpoint note body.
type checkpoint struct {
	origin     string
	size       int64
	root       tlog.Hash
	extensions []string
}

// openCheckpoint verifies the signed note with the log's key and parses the
// checkpoint body. The origin line must be the verifier key's name.
func openCheckpoint(msg []byte, vkey string) (*checkpoint, error) {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, failf("bad verifier key: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return nil, failf("checkpoint signature: %v", err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	if cp.origin != verifier.Name() {
		return nil, failf("checkpoint origin %q is not the key name %q", cp.origin, verifier.Name())
	}
	return cp, nil
}

// parseCheckpoint: origin line, decimal tree size, base64 root hash, then
// zero or more non-empty extension lines; every line ends in a newline.
func parseCheckpoint(text string) (*checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, failf("checkpoint body does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, failf("checkpoint has fewer than 3 lines")
	}
	origin := lines[0]
	if origin == "" {
		return nil, failf("checkpoint origin is empty")
	}
	size, err := parseDecimal(lines[1])
	if err != nil {
		return nil, failf("checkpoint size: %v", err)
	}
	root, err := decodeHash(lines[2])
	if err != nil {
		return nil, failf("checkpoint root hash: %v", err)
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			return nil, failf("checkpoint has an empty extension line")
		}
	}
	return &checkpoint{origin: origin, size: size, root: root, extensions: lines[3:]}, nil
}

// parseDecimal: ASCII digits, no sign, no leading zero (except "0").
func parseDecimal(s string) (int64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%q is not a canonical decimal", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a canonical decimal", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %v", s, err)
	}
	return n, nil
}

func decodeHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := b64.DecodeString(s)
	if err != nil {
		return h, fmt.Errorf("%q is not strict base64: %v", s, err)
	}
	if len(raw) != tlog.HashSize {
		return h, fmt.Errorf("%d bytes, not %d", len(raw), tlog.HashSize)
	}
	copy(h[:], raw)
	return h, nil
}

// tlogProof is a parsed c2sp.org/tlog-proof@v1 file.
type tlogProof struct {
	index      int64
	extra      []byte
	hashes     tlog.RecordProof
	checkpoint []byte
}

// parseProof parses:
//
//	c2sp.org/tlog-proof@v1
//	[extra <base64>]
//	index <N>
//	<base64 hash>      (zero or more)
//	<empty line>
//	<signed checkpoint note, verbatim>
func parseProof(data []byte) (*tlogProof, error) {
	i := bytes.Index(data, []byte("\n\n"))
	if i < 0 {
		return nil, failf("no empty line before the checkpoint")
	}
	head, cp := string(data[:i]), data[i+2:]
	if len(cp) == 0 {
		return nil, failf("no checkpoint after the empty line")
	}
	lines := strings.Split(head, "\n")
	if lines[0] != proofHeader {
		return nil, failf("first line is %q, not %q", lines[0], proofHeader)
	}
	p := &tlogProof{checkpoint: cp}
	pos := 1
	if pos < len(lines) && strings.HasPrefix(lines[pos], "extra ") {
		extra, err := b64.DecodeString(strings.TrimPrefix(lines[pos], "extra "))
		if err != nil || len(extra) == 0 {
			return nil, failf("bad extra line %q", lines[pos])
		}
		p.extra = extra
		pos++
	}
	if pos >= len(lines) || !strings.HasPrefix(lines[pos], "index ") {
		return nil, failf("no 'index N' line")
	}
	index, err := parseDecimal(strings.TrimPrefix(lines[pos], "index "))
	if err != nil {
		return nil, failf("index: %v", err)
	}
	p.index = index
	for _, line := range lines[pos+1:] {
		h, err := decodeHash(line)
		if err != nil {
			return nil, failf("proof hash: %v", err)
		}
		p.hashes = append(p.hashes, h)
	}
	if len(p.hashes) > maxProofHash {
		return nil, failf("%d proof hashes", len(p.hashes))
	}
	return p, nil
}

func readMember(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, failf("%s: %v", f.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxMember+1))
	if err != nil {
		return nil, failf("%s: %v", f.Name, err)
	}
	if len(data) > maxMember {
		return nil, failf("%s: too large", f.Name)
	}
	return data, nil
}

func verifyBundle(path, vkey string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return failf("%s: %v", path, err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	for _, f := range zr.File {
		if _, dup := files[f.Name]; dup {
			return failf("two members named %q", f.Name)
		}
		data, err := readMember(f)
		if err != nil {
			return err
		}
		files[f.Name] = data
	}
	cpBytes, ok := files["checkpoint"]
	if !ok {
		return failf("the bundle has no checkpoint")
	}
	cp, err := openCheckpoint(cpBytes, vkey)
	if err != nil {
		return err
	}
	fmt.Printf("checkpoint: %s size %d root %s\n", cp.origin, cp.size, cp.root)

	var indexes []int64
	for name := range files {
		if !strings.HasPrefix(name, "entries/") {
			if strings.HasPrefix(name, "proofs/") {
				entry := "entries/" + strings.TrimSuffix(strings.TrimPrefix(name, "proofs/"), ".tlog-proof")
				if _, ok := files[entry]; !ok || !strings.HasSuffix(name, ".tlog-proof") {
					return failf("%s has no matching entry", name)
				}
			}
			continue
		}
		n, err := parseDecimal(strings.TrimPrefix(name, "entries/"))
		if err != nil {
			return failf("member %q: %v", name, err)
		}
		indexes = append(indexes, n)
	}
	if len(indexes) == 0 {
		return failf("the bundle has no entries")
	}
	sort.Slice(indexes, func(i, j int) bool { return indexes[i] < indexes[j] })
	for _, n := range indexes {
		entry := files[fmt.Sprintf("entries/%d", n)]
		proofName := fmt.Sprintf("proofs/%d.tlog-proof", n)
		proofBytes, ok := files[proofName]
		if !ok {
			return failf("entry %d: no %s", n, proofName)
		}
		p, err := parseProof(proofBytes)
		if err != nil {
			return failf("entry %d: %s: %v", n, proofName, err)
		}
		if p.index != n {
			return failf("entry %d: %s proves index %d", n, proofName, p.index)
		}
		if !bytes.Equal(p.checkpoint, cpBytes) {
			return failf("entry %d: %s: its checkpoint differs from the bundle's", n, proofName)
		}
		if n >= cp.size {
			return failf("entry %d: beyond the checkpoint's tree size %d", n, cp.size)
		}
		if err := tlog.CheckRecord(p.hashes, cp.size, cp.root, n, tlog.RecordHash(entry)); err != nil {
			return failf("entry %d: inclusion proof: %v", n, err)
		}
		fmt.Printf("entry %d: included (leaf %s)\n", n, tlog.RecordHash(entry))
	}
	if err := checkPeople(files, indexes); err != nil {
		return err
	}
	fmt.Printf("OK %d entries\n", len(indexes))
	return nil
}

// -- lists of people ---------------------------------------------------------
//
// From docs/ledger.md ("Long lists of people"), not from custody's code: an entry lists
// people ("recipients", "readers") inline, or commits to them as
// "<list>_committed": {"count": N, "parts": [i-k, ..., i-1], "sha256": hex}, the ids
// being spelled out, in order, in the k "people:part" entries just before it, each
// {"list", "part" (1..k), "of" (k), "ids"}, about the same actor, case, transfer and
// item. sha256 = SHA-256("custody-people/v1\n" || id1 || "\n" || ... || idN || "\n"),
// the ids strictly ascending by bytes. Every part in the bundle belongs to one entry.

const peoplePart = "people:part"

var peopleLists = map[string]bool{"recipients": true, "readers": true}
var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

type logEntry struct {
	Type     string                     `json:"type"`
	Actor    string                     `json:"actor"`
	Case     *string                    `json:"case"`
	Transfer *string                    `json:"transfer"`
	Item     *string                    `json:"item"`
	Data     map[string]json.RawMessage `json:"data"`
}

func (e *logEntry) about() [4]string {
	s := func(p *string) string {
		if p == nil {
			return "\x00null"
		}
		return *p
	}
	return [4]string{e.Actor, s(e.Case), s(e.Transfer), s(e.Item)}
}

type commitment struct {
	Count  *int64  `json:"count"`
	Parts  []int64 `json:"parts"`
	SHA256 *string `json:"sha256"`
}

type peoplePartData struct {
	List *string  `json:"list"`
	Part *int64   `json:"part"`
	Of   *int64   `json:"of"`
	IDs  []string `json:"ids"`
}

func strictJSON(raw []byte, v interface{}) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func checkPeople(files map[string][]byte, indexes []int64) error {
	entries := map[int64]*logEntry{}
	for _, n := range indexes {
		var e logEntry
		if err := json.Unmarshal(files[fmt.Sprintf("entries/%d", n)], &e); err != nil {
			return failf("entry %d: not a JSON entry: %v", n, err)
		}
		entries[n] = &e
	}
	owned := map[int64]int64{}
	for _, n := range indexes {
		e := entries[n]
		var name string
		var raw json.RawMessage
		for key, value := range e.Data {
			list := strings.TrimSuffix(key, "_committed")
			if list != key && peopleLists[list] {
				if name != "" {
					return failf("entry %d: commits to more than one list of people", n)
				}
				name, raw = list, value
			}
		}
		if name == "" {
			continue
		}
		if _, both := e.Data[name]; both {
			return failf("entry %d: has %s inline and committed to", n, name)
		}
		where := fmt.Sprintf("entry %d: its %s commitment", n, name)
		var c commitment
		if err := strictJSON(raw, &c); err != nil || c.Count == nil || c.SHA256 == nil || c.Parts == nil {
			return failf("%s is not {count, parts, sha256}", where)
		}
		k := int64(len(c.Parts))
		if *c.Count < 1 || !hex64.MatchString(*c.SHA256) || k == 0 {
			return failf("%s: count, sha256 or parts malformed", where)
		}
		for j, at := range c.Parts {
			if at != n-k+int64(j) {
				return failf("%s: parts must be entries %d..%d", where, n-k, n-1)
			}
		}
		var ids []string
		for j, at := range c.Parts {
			pe, ok := entries[at]
			if !ok {
				return failf("%s: part %d of %d (entry %d) is not in the bundle", where, j+1, k, at)
			}
			if pe.Type != peoplePart {
				return failf("%s: entry %d is %s, not a %s", where, at, pe.Type, peoplePart)
			}
			var pd peoplePartData
			data, _ := json.Marshal(pe.Data)
			if err := strictJSON(data, &pd); err != nil || pd.List == nil || pd.Part == nil || pd.Of == nil || len(pd.IDs) == 0 {
				return failf("entry %d: a %s is {list, part, of, ids}", at, peoplePart)
			}
			if *pd.List != name || *pd.Part != int64(j+1) || *pd.Of != k {
				return failf("%s: entry %d is part %d of %d of %q, not part %d of %d of %q",
					where, at, *pd.Part, *pd.Of, *pd.List, j+1, k, name)
			}
			if pe.about() != e.about() {
				return failf("%s: part entry %d is about another event", where, at)
			}
			ids = append(ids, pd.IDs...)
			owned[at] = n
		}
		h := sha256.New()
		h.Write([]byte("custody-people/v1\n"))
		for i, id := range ids {
			if id == "" || (i > 0 && !(ids[i-1] < id)) {
				return failf("%s: the parts' ids are not strictly ascending", where)
			}
			h.Write([]byte(id + "\n"))
		}
		if int64(len(ids)) != *c.Count {
			return failf("%s: the parts name %d people, the commitment %d", where, len(ids), *c.Count)
		}
		if hex.EncodeToString(h.Sum(nil)) != *c.SHA256 {
			return failf("%s: the parts' ids do not hash to the committed sha256", where)
		}
		fmt.Printf("entry %d: %s of %d people match its commitment (%d parts)\n", n, name, len(ids), k)
	}
	for _, n := range indexes {
		if _, ok := owned[n]; entries[n].Type == peoplePart && !ok {
			return failf("entry %d is a %s that no entry in the bundle commits to", n, peoplePart)
		}
	}
	return nil
}

// -- tiles -------------------------------------------------------------------

var client = &http.Client{Timeout: 30 * time.Second}

func fetch(base, path string) ([]byte, error) {
	url := strings.TrimSuffix(base, "/") + "/" + path
	resp, err := client.Get(url)
	if err != nil {
		return nil, failf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMember+1))
	if err != nil {
		return nil, failf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, failf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// tilePath is the c2sp.org/tlog-tiles path: tile/<L>/<N>[.p/<W>] (or
// tile/entries/<N>[.p/<W>] when level < 0), N in 3-digit groups, all but the
// last prefixed with "x". Unlike Go's sumdb there is no height element.
func tilePath(level int, n int64, w int) string {
	groups := []string{fmt.Sprintf("%03d", n%1000)}
	for n /= 1000; n > 0; n /= 1000 {
		groups = append([]string{fmt.Sprintf("x%03d", n%1000)}, groups...)
	}
	kind := "entries"
	if level >= 0 {
		kind = strconv.Itoa(level)
	}
	p := "tile/" + kind + "/" + strings.Join(groups, "/")
	if w < tileWidth {
		p += ".p/" + strconv.Itoa(w)
	}
	return p
}

// httpTileReader fetches C2SP tiles for tlog.TileHashReader.
//
// TileHashReader authenticates the tiles that make up the tree hash, then
// "full tiles against their parents" in a loop that starts at len(stx), the
// number of subtree hashes, rather than at the number of distinct tiles they
// came from. When several of those subtrees share a tile (e.g. a tree of 733
// leaves: 7 subtrees, 2 tiles), the first full tiles fetched for a proof are
// never checked (golang.org/x/mod v0.7.0 and later). A forged tile then still
// fails tlog.CheckRecord against the signed root, but to refuse any tile that
// does not match, ReadTiles also checks every full tile against its parent.
type httpTileReader struct{ base string }

func (r httpTileReader) Height() int { return tileHeight }

func (r httpTileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if t.H != tileHeight || t.L < 0 {
			return nil, failf("unexpected tile %+v", t)
		}
		data, err := fetch(r.base, tilePath(t.L, t.N, t.W))
		if err != nil {
			return nil, err
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, failf("%s: %d bytes, not %d", tilePath(t.L, t.N, t.W), len(data), t.W*tlog.HashSize)
		}
		out[i] = data
	}
	if err := r.checkFullTiles(tiles, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkFullTiles: the Merkle root of every full tile's 256 hashes must be the
// hash its parent tile (one level up, fetched in the same batch) holds for it.
func (r httpTileReader) checkFullTiles(tiles []tlog.Tile, data [][]byte) error {
	type key struct {
		l int
		n int64
	}
	index := map[key]int{}
	for i, t := range tiles {
		index[key{t.L, t.N}] = i
	}
	for i, t := range tiles {
		if t.W != tileWidth {
			continue
		}
		j, ok := index[key{t.L + 1, t.N >> tileHeight}]
		if !ok {
			return failf("%s: its parent tile was not fetched", tilePath(t.L, t.N, t.W))
		}
		p := tiles[j]
		want, err := tlog.HashFromTile(p, data[j], tlog.StoredHashIndex(p.L*tileHeight, t.N))
		if err != nil {
			return failf("%s: no hash for it in %s: %v", tilePath(t.L, t.N, t.W), tilePath(p.L, p.N, p.W), err)
		}
		if merkleRoot(data[i]) != want {
			return failf("%s does not match its parent %s: inconsistent tile",
				tilePath(t.L, t.N, t.W), tilePath(p.L, p.N, p.W))
		}
	}
	return nil
}

// merkleRoot of a full tile: its 256 hashes as the leaves' hashes of a
// perfect binary tree (RFC 6962 interior nodes).
func merkleRoot(data []byte) tlog.Hash {
	level := make([]tlog.Hash, len(data)/tlog.HashSize)
	for i := range level {
		copy(level[i][:], data[i*tlog.HashSize:])
	}
	for len(level) > 1 {
		next := make([]tlog.Hash, len(level)/2)
		for i := range next {
			next[i] = tlog.NodeHash(level[2*i], level[2*i+1])
		}
		level = next
	}
	return level[0]
}

func (r httpTileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// parseEntryBundle: big-endian uint16 length-prefixed entries, nothing else.
func parseEntryBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("ends inside a length prefix")
		}
		n := int(data[0])<<8 | int(data[1])
		if len(data) < 2+n {
			return nil, errors.New("ends inside an entry")
		}
		entries = append(entries, data[2:2+n])
		data = data[2+n:]
	}
	return entries, nil
}

func verifyTiles(base, vkey string, args []string) error {
	cpBytes, err := fetch(base, "checkpoint")
	if err != nil {
		return err
	}
	cp, err := openCheckpoint(cpBytes, vkey)
	if err != nil {
		return err
	}
	fmt.Printf("checkpoint: %s size %d root %s\n", cp.origin, cp.size, cp.root)
	tree := tlog.Tree{N: cp.size, Hash: cp.root}
	hashes := tlog.TileHashReader(tree, httpTileReader{base})
	for _, arg := range args {
		index, err := parseDecimal(arg)
		if err != nil {
			return failf("index: %v", err)
		}
		if index >= cp.size {
			return failf("entry %d: beyond the checkpoint's tree size %d", index, cp.size)
		}
		// TileHashReader authenticates every tile it reads against the tree hash.
		proof, err := tlog.ProveRecord(cp.size, index, hashes)
		if err != nil {
			return failf("entry %d: proof from tiles: %v", index, err)
		}
		bundleN := index / tileWidth
		width := cp.size - bundleN*tileWidth
		if width > tileWidth {
			width = tileWidth
		}
		data, err := fetch(base, tilePath(-1, bundleN, int(width)))
		if err != nil {
			return err
		}
		entries, err := parseEntryBundle(data)
		if err != nil {
			return failf("entry bundle %d: %v", bundleN, err)
		}
		if int64(len(entries)) != width {
			return failf("entry bundle %d holds %d entries, not %d", bundleN, len(entries), width)
		}
		entry := entries[index%tileWidth]
		leaf := tlog.RecordHash(entry)
		if err := tlog.CheckRecord(proof, cp.size, cp.root, index, leaf); err != nil {
			return failf("entry %d: inclusion proof: %v", index, err)
		}
		fmt.Printf("entry %d: included (leaf %s, %d proof hashes)\n", index, leaf, len(proof))
	}
	fmt.Printf("OK %d entries against tree size %d\n", len(args), cp.size)
	return nil
}
