// Command witness-interop drives a C2SP tlog-witness as a log would, from the
// specifications alone, on top of Go's golang.org/x/mod/sumdb/note (signed
// notes) and golang.org/x/mod/sumdb/tlog (RFC 6962 trees and consistency
// proofs). It shares no code with custody. It verifies each cosignature it
// gets as c2sp.org/tlog-cosignature defines it, with a note.Verifier of its
// own for the cosignature/v1 key type (0x04).
//
//	witness-interop genkey ORIGIN          prints a log's signer key, then its verifier key
//	witness-interop run URL SKEY WVKEY     the protocol steps; "OK <step>" per step
//
// On any failure it prints "FAIL: <reason>" to stderr and exits 1.
//
// Build (GOPATH mode, Debian golang-golang-x-mod-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o witness-interop witness_interop.go
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// cosigVerifier verifies tlog-cosignature/v1 Ed25519 cosignatures.
type cosigVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig[:8])
	if ts > 1<<63-1 {
		return false
	}
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", ts)), msg...)
	return ed25519.Verify(v.key, signed, sig[8:])
}

// newCosigVerifier parses name+hash+base64(0x04 || key) and checks the hash:
// SHA-256(name || "\n" || 0x04 || key)[:4].
func newCosigVerifier(vkey string) *cosigVerifier {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		fail("witness key %q is not name+hash+key", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		fail("witness key %q is not an Ed25519 cosignature key", vkey)
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	hash := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", hash) != parts[1] {
		fail("witness key %q: hash %s, computed %08x", vkey, parts[1], hash)
	}
	return &cosigVerifier{parts[0], hash, ed25519.PublicKey(raw[1:])}
}

// tree is an RFC 6962 tree of records, with the stored hashes tlog keeps.
type tree struct {
	prefix string
	n      int64
	hashes []tlog.Hash
}

func (t *tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = t.hashes[x]
	}
	return out, nil
}

func (t *tree) grow(to int64) {
	for t.n < to {
		record := []byte(fmt.Sprintf("%s %d", t.prefix, t.n))
		hs, err := tlog.StoredHashes(t.n, record, t)
		if err != nil {
			fail("StoredHashes: %v", err)
		}
		t.hashes = append(t.hashes, hs...)
		t.n++
	}
}

func (t *tree) root() tlog.Hash {
	h, err := tlog.TreeHash(t.n, t)
	if err != nil {
		fail("TreeHash: %v", err)
	}
	return h
}

func checkpoint(origin string, t *tree, signer note.Signer) []byte {
	root := t.root()
	text := fmt.Sprintf("%s\n%d\n%s\n", origin, t.n, base64.StdEncoding.EncodeToString(root[:]))
	signed, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		fail("note.Sign: %v", err)
	}
	return signed
}

// body is the add-checkpoint request: "old N", proof lines, an empty line, the note.
func body(old int64, proof tlog.TreeProof, signed []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		fmt.Fprintf(&b, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	b.WriteString("\n")
	b.Write(signed)
	return b.Bytes()
}

func post(url string, data []byte) (int, string, []byte) {
	resp, err := http.Post(url+"/add-checkpoint", "text/plain", bytes.NewReader(data))
	if err != nil {
		fail("POST: %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		fail("reading the answer: %v", err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), got
}

func prove(t *tree, old int64) tlog.TreeProof {
	p, err := tlog.ProveTree(t.n, old, t)
	if err != nil {
		fail("ProveTree: %v", err)
	}
	return p
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "genkey" {
		skey, vkey, err := note.GenerateKey(rand.Reader, os.Args[2])
		if err != nil {
			fail("GenerateKey: %v", err)
		}
		fmt.Println(skey)
		fmt.Println(vkey)
		return
	}
	if len(os.Args) != 5 || os.Args[1] != "run" {
		fmt.Fprintln(os.Stderr, "usage: witness-interop genkey ORIGIN | run URL SKEY WITNESS_VKEY")
		os.Exit(2)
	}
	url, skey, wvkey := os.Args[2], os.Args[3], os.Args[4]
	signer, err := note.NewSigner(skey)
	if err != nil {
		fail("NewSigner: %v", err)
	}
	origin := signer.Name()
	witness := newCosigVerifier(wvkey)
	expect := func(step string, status int, wantStatus int, ctype, wantType string, got []byte, want string) {
		if status != wantStatus {
			fail("%s: status %d (want %d): %s", step, status, wantStatus, got)
		}
		if wantType != "" && ctype != wantType {
			fail("%s: Content-Type %q (want %q)", step, ctype, wantType)
		}
		if want != "" && string(got) != want {
			fail("%s: body %q (want %q)", step, got, want)
		}
		fmt.Println("OK", step)
	}
	cosigned := func(step string, signed, answer []byte, vkeyText string) {
		v, err := note.NewVerifier(vkeyText)
		if err != nil {
			fail("%s: NewVerifier: %v", step, err)
		}
		for _, line := range strings.SplitAfter(string(answer), "\n") {
			if line != "" && (!strings.HasPrefix(line, "\u2014 ") || !strings.HasSuffix(line, "\n")) {
				fail("%s: %q is not a signature line", step, line)
			}
		}
		n, err := note.Open(append(append([]byte{}, signed...), answer...), note.VerifierList(v, witness))
		if err != nil {
			fail("%s: note.Open of the cosigned checkpoint: %v", step, err)
		}
		found := false
		for _, s := range n.Sigs {
			if s.Name == witness.name && s.Hash == witness.hash {
				raw, _ := base64.StdEncoding.DecodeString(s.Base64)
				ts := int64(binary.BigEndian.Uint64(raw[4:12]))
				if d := time.Since(time.Unix(ts, 0)); d < -5*time.Minute || d > 5*time.Minute {
					fail("%s: cosignature time %d is not now", step, ts)
				}
				found = true
			}
		}
		if !found || len(n.Sigs) != 2 {
			fail("%s: %d verified signatures, witness's found: %v", step, len(n.Sigs), found)
		}
		fmt.Println("OK", step, "cosignature verified")
	}
	vkeyOf := func(s string) string { // the log's verifier key, from its signer key
		parts := strings.SplitN(strings.TrimPrefix(s, "PRIVATE+KEY+"), "+", 3)
		raw, _ := base64.StdEncoding.DecodeString(parts[2])
		pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
		vkey, err := note.NewEd25519VerifierKey(parts[0], pub)
		if err != nil {
			fail("NewEd25519VerifierKey: %v", err)
		}
		return vkey
	}
	logVkey := vkeyOf(skey)

	honest := &tree{prefix: "record"}
	honest.grow(5)
	first := checkpoint(origin, honest, signer)
	status, ctype, got := post(url, body(0, nil, first))
	expect("first checkpoint", status, 200, ctype, "", got, "")
	cosigned("first checkpoint", first, got, logVkey)

	honest.grow(13)
	second := checkpoint(origin, honest, signer)
	status, ctype, got = post(url, body(5, prove(honest, 5), second))
	expect("consistent growth", status, 200, ctype, "", got, "")
	cosigned("consistent growth", second, got, logVkey)

	status, ctype, got = post(url, body(5, prove(honest, 5), second))
	expect("stale old size", status, 409, ctype, "text/x.tlog.size", got, "13\n")

	fork := &tree{prefix: "forged"}
	fork.grow(13)
	status, ctype, got = post(url, body(13, nil, checkpoint(origin, fork, signer)))
	expect("fork of the same size", status, 409, ctype, "text/x.tlog.size", got, "13\n")

	honest.grow(20)
	bad := prove(honest, 13)
	bad[0][0] ^= 1
	status, ctype, got = post(url, body(13, bad, checkpoint(origin, honest, signer)))
	expect("bad consistency proof", status, 422, ctype, "", got, "")

	fork.grow(20)
	status, ctype, got = post(url, body(13, prove(fork, 13), checkpoint(origin, fork, signer)))
	expect("fork that grew", status, 422, ctype, "", got, "")

	status, ctype, got = post(url, body(21, nil, checkpoint(origin, honest, signer)))
	expect("old size above the checkpoint", status, 400, ctype, "", got, "")

	otherSkey, _, _ := note.GenerateKey(rand.Reader, "another.example/log")
	other, _ := note.NewSigner(otherSkey)
	status, ctype, got = post(url, body(0, nil, checkpoint("another.example/log", honest, other)))
	expect("unknown log", status, 404, ctype, "", got, "")

	impostorSkey, _, _ := note.GenerateKey(rand.Reader, origin)
	impostor, _ := note.NewSigner(impostorSkey)
	status, ctype, got = post(url, body(13, prove(honest, 13), checkpoint(origin, honest, impostor)))
	expect("another key for the log's name", status, 403, ctype, "", got, "")

	third := checkpoint(origin, honest, signer)
	status, ctype, got = post(url, body(13, prove(honest, 13), third))
	expect("honest growth after all that", status, 200, ctype, "", got, "")
	cosigned("honest growth after all that", third, got, logVkey)
	fmt.Println("OK all", strconv.Itoa(int(honest.n)))
}
