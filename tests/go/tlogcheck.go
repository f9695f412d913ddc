// tlogcheck: Go's golang.org/x/mod/sumdb (tlog and note), as Debian's golang-golang-x-mod-dev
// ships it, run by tests/test_merkle.py and tests/test_checkpoint.py to cross-check ours.
//
//	tlogcheck tree  < leaf inputs, one hex line each  -> JSON: roots, inclusion and consistency proofs
//	tlogcheck note VKEY < signed note                  -> the verified text, or exit 1
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	switch os.Args[1] {
	case "tree":
		tree()
	case "note":
		verifyNote(os.Args[2])
	}
}

func tree() {
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, index := range indexes {
			out[i] = stored[index]
		}
		return out, nil
	})
	lines := bufio.NewScanner(os.Stdin)
	var n int64
	for lines.Scan() {
		data, err := hex.DecodeString(lines.Text())
		check(err)
		hashes, err := tlog.StoredHashes(n, data, reader)
		check(err)
		stored = append(stored, hashes...)
		n++
	}
	roots := []string{}
	inclusion := map[string][]string{}
	consistency := map[string][]string{}
	for size := int64(1); size <= n; size++ {
		root, err := tlog.TreeHash(size, reader)
		check(err)
		roots = append(roots, hex.EncodeToString(root[:]))
		for index := int64(0); index < size; index++ {
			proof, err := tlog.ProveRecord(size, index, reader)
			check(err)
			inclusion[fmt.Sprintf("%d/%d", index, size)] = hexes(proof)
		}
		for old := int64(1); old <= size; old++ {
			proof, err := tlog.ProveTree(size, old, reader)
			check(err)
			consistency[fmt.Sprintf("%d/%d", old, size)] = hexes(proof)
		}
	}
	out := map[string]interface{}{"roots": roots, "inclusion": inclusion, "consistency": consistency}
	check(json.NewEncoder(os.Stdout).Encode(out))
}

func hexes(hashes []tlog.Hash) []string {
	out := []string{}
	for _, h := range hashes {
		out = append(out, hex.EncodeToString(h[:]))
	}
	return out
}

func verifyNote(vkey string) {
	verifier, err := note.NewVerifier(vkey)
	check(err)
	msg, err := io.ReadAll(os.Stdin)
	check(err)
	n, err := note.Open(msg, note.VerifierList(verifier))
	check(err)
	fmt.Print(n.Text)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
