;; Copyright the deno-echo authors. MIT license.
;;
;; The quit-word scan of quit_word.ts over bytes in this module's memory, with
;; SIMD. Compiled to quit_scan.wasm with wabt: `wat2wasm quit_scan.wat`.
;;
;; scan(ptr, len, word, n, state) scans the `len` bytes at `ptr` for the end
;; of a line that, trimmed of ASCII whitespace (space, \t, \v, \f, \r), is
;; exactly the `n` bytes at `word`; `state` is the scanner's state after the
;; bytes before, `matched | failed << 16` (`matched`: bytes of the word seen
;; so far on this line; `failed`: the line can no longer match). Returns the
;; index just past the quit line's LF (the state after it is 0), or
;; `-1 - state` with the state at the end of the bytes. The 256 bytes after
;; the word flag the bytes a quit line can hold besides LF: the word's and
;; whitespace (wasm_buffers.ts writes them).
;;
;; While a line can still match, the scan is the state machine of
;; QuitWordScanner.scan, byte by byte. Once the line has failed, it looks for
;; where the next candidate line starts:
;; - a word of three bytes or more ($findWord): the next place where the
;;   word's first three bytes stand with only whitespace between them and an
;;   LF. 64 bytes a step, the test is whether any 16-bit lane holds the
;;   word's bytes 0-1 or 1-2 (one of the two lies on an even offset), which
;;   random bytes do about once in 64 KiB, so the loop has no branch that
;;   data makes hard to predict. Searching LFs instead (as below) is a bit
;;   faster on bytes scanned again and again, but on fresh reads its branch
;;   per LF (one every ~256 random bytes) mispredicts: in the server under a
;;   bulk load it took 13-15 % of the CPU time, this search 6-7 %.
;; - a shorter word ($skipLines): the next LF followed by a byte that can
;;   start a quit line (whitespace, the word's first byte), 64 bytes a step.
;; Deno runs WebAssembly without V8's trap handler, so each load is checked
;; against the memory's size: 16-byte loads, as few as the test needs.
(module
  ;; Page 0 holds the quit words; wasm_buffers.ts grows the memory once, at
  ;; load, for its read buffers.
  (memory (export "memory") 1)

  (func $isSpace (param $b i32) (result i32) ;; space, \t, \v, \f, \r
    (i32.and
      (i32.or (i32.eq (local.get $b) (i32.const 0x20))
              (i32.le_u (i32.sub (local.get $b) (i32.const 9)) (i32.const 4)))
      (i32.ne (local.get $b) (i32.const 10))))

  ;; Whether a line that starts with byte $b can still say the word.
  (func $canStart (param $b i32) (param $w0 i32) (result i32)
    (i32.or
      (i32.or (i32.eq (local.get $b) (local.get $w0))
              (i32.eq (local.get $b) (i32.const 0x20)))
      ;; \t, LF, \v, \f, \r
      (i32.le_u (i32.sub (local.get $b) (i32.const 9)) (i32.const 4))))

  ;; Whether $p starts a line's text: only whitespace back to an LF at or
  ;; after $floor.
  (func $startsLine (param $p i32) (param $floor i32) (result i32)
    (local $q i32)
    (local.set $q (i32.sub (local.get $p) (i32.const 1)))
    (block $stop
      (loop $back
        (br_if $stop (i32.lt_s (local.get $q) (local.get $floor)))
        (br_if $stop (i32.eqz (call $isSpace (i32.load8_u (local.get $q)))))
        (local.set $q (i32.sub (local.get $q) (i32.const 1)))
        (br $back)))
    (if (result i32) (i32.lt_s (local.get $q) (local.get $floor))
      (then (i32.const 0))
      (else (i32.eq (i32.load8_u (local.get $q)) (i32.const 10)))))

  ;; Bit j set for each even offset j of the 64 bytes in $a..$d whose 16-bit
  ;; lane equals $pair.
  (func $evenMask (param $a v128) (param $b v128) (param $c v128)
    (param $d v128) (param $pair v128) (result i64)
    (i64.and (i64.const 0x5555555555555555)
      (i64.or
        (i64.or
          (i64.extend_i32_u (i8x16.bitmask (i16x8.eq (local.get $a) (local.get $pair))))
          (i64.shl
            (i64.extend_i32_u (i8x16.bitmask (i16x8.eq (local.get $b) (local.get $pair))))
            (i64.const 16)))
        (i64.or
          (i64.shl
            (i64.extend_i32_u (i8x16.bitmask (i16x8.eq (local.get $c) (local.get $pair))))
            (i64.const 32))
          (i64.shl
            (i64.extend_i32_u (i8x16.bitmask (i16x8.eq (local.get $d) (local.get $pair))))
            (i64.const 48))))))

  ;; After a failed line, the first place from $floor on where the word (at
  ;; least three bytes) starts a line; or where a line that can still match
  ;; starts before $end and runs to it; or -1: the bytes end in a failed line.
  (func $findWord (param $floor i32) (param $end i32) (param $word i32)
    (param $n i32) (result i32)
    (local $i i32) (local $p i32) (local $base i32)
    (local $mask i64) (local $odd i64) (local $pair01 v128) (local $pair12 v128)
    (local $va v128) (local $vb v128) (local $vc v128) (local $vd v128)
    (local.set $pair01 (i16x8.splat (i32.load16_u (local.get $word))))
    (local.set $pair12 (i16x8.splat (i32.load16_u offset=1 (local.get $word))))
    (local.set $i (local.get $floor))
    (block $short
      (loop $blocks
        (block $hit
          (loop $clear
            (br_if $short (i32.gt_u (i32.add (local.get $i) (i32.const 64))
                                    (local.get $end)))
            (local.set $va (v128.load (local.get $i)))
            (local.set $vb (v128.load offset=16 (local.get $i)))
            (local.set $vc (v128.load offset=32 (local.get $i)))
            (local.set $vd (v128.load offset=48 (local.get $i)))
            (br_if $hit (i8x16.bitmask (v128.or
              (v128.or
                (v128.or (i16x8.eq (local.get $va) (local.get $pair01))
                         (i16x8.eq (local.get $va) (local.get $pair12)))
                (v128.or (i16x8.eq (local.get $vb) (local.get $pair01))
                         (i16x8.eq (local.get $vb) (local.get $pair12))))
              (v128.or
                (v128.or (i16x8.eq (local.get $vc) (local.get $pair01))
                         (i16x8.eq (local.get $vc) (local.get $pair12)))
                (v128.or (i16x8.eq (local.get $vd) (local.get $pair01))
                         (i16x8.eq (local.get $vd) (local.get $pair12)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 64)))
            (br $clear)))
        ;; Candidates, in order: bytes 1-2 at offset 0 (a start at -1), then
        ;; bytes 0-1 at even offset j or 1-2 at j + 1 (a start at j). A
        ;; candidate is only where the state machine goes on: it checks all.
        (local.set $base (local.get $i))
        (local.set $odd (call $evenMask (local.get $va) (local.get $vb)
          (local.get $vc) (local.get $vd) (local.get $pair12)))
        (local.set $p (i32.sub (local.get $base) (i32.const 1)))
        (if (i32.wrap_i64 (i64.and (local.get $odd) (i64.const 1)))
          (then (if (call $startsLine (local.get $p) (local.get $floor))
            (then (return (local.get $p))))))
        (local.set $mask (i64.or
          (call $evenMask (local.get $va) (local.get $vb) (local.get $vc)
            (local.get $vd) (local.get $pair01))
          (i64.shr_u (local.get $odd) (i64.const 1))))
        (block $none
          (br_if $none (i64.eqz (local.get $mask)))
          (loop $starts
            (local.set $p (i32.add (local.get $base)
              (i32.wrap_i64 (i64.ctz (local.get $mask)))))
            (if (call $startsLine (local.get $p) (local.get $floor))
              (then (return (local.get $p))))
            (local.set $mask (i64.and (local.get $mask)
              (i64.sub (local.get $mask) (i64.const 1))))
            (br_if $starts (i64.ne (local.get $mask) (i64.const 0)))))
        (local.set $i (i32.add (local.get $base) (i32.const 64)))
        (br $blocks)))
    ;; Fewer than 64 bytes left: byte by byte, from the one start the blocks
    ;; did not test (at offset 63 of the last).
    (if (i32.gt_s (local.get $i) (local.get $floor))
      (then (local.set $i (i32.sub (local.get $i) (i32.const 1)))))
    (block $tail
      (loop $bytes
        (br_if $tail (i32.ge_u (i32.add (local.get $i) (i32.const 1))
                               (local.get $end)))
        (if (i32.eq (i32.load16_u (local.get $i)) (i32.load16_u (local.get $word)))
          (then (if (call $startsLine (local.get $i) (local.get $floor))
            (then (return (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes)))
    (call $lastLine (local.get $floor) (local.get $end)
      (i32.add (local.get $word) (local.get $n))))

  ;; Where the line the bytes end in starts, if it can still match: it holds
  ;; nothing but bytes flagged in $table (the word's, whitespace) back to an
  ;; LF at or after $floor. Else -1.
  (func $lastLine (param $floor i32) (param $end i32) (param $table i32)
    (result i32)
    (local $q i32)
    (local.set $q (i32.sub (local.get $end) (i32.const 1)))
    (block $stop
      (loop $back
        (br_if $stop (i32.lt_s (local.get $q) (local.get $floor)))
        (br_if $stop (i32.eqz (i32.load8_u
          (i32.add (local.get $table) (i32.load8_u (local.get $q))))))
        (local.set $q (i32.sub (local.get $q) (i32.const 1)))
        (br $back)))
    (if (i32.lt_s (local.get $q) (local.get $floor)) (then (return (i32.const -1))))
    (if (i32.ne (i32.load8_u (local.get $q)) (i32.const 10))
      (then (return (i32.const -1))))
    (i32.add (local.get $q) (i32.const 1)))

  ;; After a failed line, just past the first LF from $i on that a byte that
  ;; can start a quit line follows, or $end after an LF that ends the bytes;
  ;; or -1: the bytes end in a failed line.
  (func $skipLines (param $i i32) (param $end i32) (param $w0 i32) (result i32)
    (local $b i32) (local $base i32) (local $mask i64) (local $lf v128)
    (local $va v128) (local $vb v128) (local $vc v128) (local $vd v128)
    (local.set $lf (i8x16.splat (i32.const 10)))
    (block $short
      (loop $blocks
        (block $hit
          (loop $clear
            (br_if $short (i32.gt_u (i32.add (local.get $i) (i32.const 64))
                                    (local.get $end)))
            (local.set $va (i8x16.eq (v128.load (local.get $i)) (local.get $lf)))
            (local.set $vb (i8x16.eq (v128.load offset=16 (local.get $i)) (local.get $lf)))
            (local.set $vc (i8x16.eq (v128.load offset=32 (local.get $i)) (local.get $lf)))
            (local.set $vd (i8x16.eq (v128.load offset=48 (local.get $i)) (local.get $lf)))
            ;; A bitmask (pmovmskb) tests for any LF a little faster than
            ;; v128.any_true (ptest) does.
            (br_if $hit (i8x16.bitmask
              (v128.or (v128.or (local.get $va) (local.get $vb))
                       (v128.or (local.get $vc) (local.get $vd)))))
            (local.set $i (i32.add (local.get $i) (i32.const 64)))
            (br $clear)))
        ;; LFs in the 64 bytes at $i, as the bits of $mask.
        (local.set $base (local.get $i))
        (local.set $mask
          (i64.or
            (i64.or
              (i64.extend_i32_u (i8x16.bitmask (local.get $va)))
              (i64.shl (i64.extend_i32_u (i8x16.bitmask (local.get $vb)))
                       (i64.const 16)))
            (i64.or
              (i64.shl (i64.extend_i32_u (i8x16.bitmask (local.get $vc)))
                       (i64.const 32))
              (i64.shl (i64.extend_i32_u (i8x16.bitmask (local.get $vd)))
                       (i64.const 48)))))
        (loop $lfs
          ;; Just past the LF.
          (local.set $i (i32.add (i32.add (local.get $base) (i32.const 1))
            (i32.wrap_i64 (i64.ctz (local.get $mask)))))
          (if (i32.ge_u (local.get $i) (local.get $end))
            (then (return (local.get $i))))
          (if (call $canStart (i32.load8_u (local.get $i)) (local.get $w0))
            (then (return (local.get $i))))
          (local.set $mask (i64.and (local.get $mask)
            (i64.sub (local.get $mask) (i64.const 1))))
          (br_if $lfs (i64.ne (local.get $mask) (i64.const 0))))
        (local.set $i (i32.add (local.get $base) (i32.const 64)))
        (br $blocks)))
    ;; Fewer than 64 bytes left: byte by byte.
    (loop $bytes
      (if (i32.ge_u (local.get $i) (local.get $end)) (then (return (i32.const -1))))
      (local.set $b (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $bytes (i32.ne (local.get $b) (i32.const 10)))
      (if (i32.ge_u (local.get $i) (local.get $end)) (then (return (local.get $i))))
      (br_if $bytes (i32.eqz
        (call $canStart (i32.load8_u (local.get $i)) (local.get $w0)))))
    (local.get $i))

  (func (export "scan") (param $ptr i32) (param $len i32) (param $word i32)
    (param $n i32) (param $state i32) (result i32)
    (local $matched i32) (local $failed i32) (local $i i32) (local $end i32)
    (local $b i32)
    (local.set $matched (i32.and (local.get $state) (i32.const 0xffff)))
    (local.set $failed (i32.shr_u (local.get $state) (i32.const 16)))
    (local.set $i (local.get $ptr))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (loop $line
      (block $fail
        (br_if $fail (local.get $failed))
        ;; A line that can still match, from $i: byte by byte.
        (loop $match
          (if (i32.ge_u (local.get $i) (local.get $end))
            (then (return (i32.sub (i32.const -1) (local.get $matched)))))
          (local.set $b (i32.load8_u (local.get $i)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (if (i32.eq (local.get $b) (i32.const 10))
            (then
              (if (i32.eq (local.get $matched) (local.get $n))
                (then (return (i32.sub (local.get $i) (local.get $ptr)))))
              (local.set $matched (i32.const 0))
              (br $match)))
          (if (call $isSpace (local.get $b))
            (then
              ;; Whitespace: allowed before the word and after it.
              (br_if $match (i32.or (i32.eqz (local.get $matched))
                                    (i32.eq (local.get $matched) (local.get $n))))
              (br $fail)))
          (br_if $fail (i32.ge_u (local.get $matched) (local.get $n)))
          (br_if $fail (i32.ne (local.get $b)
            (i32.load8_u (i32.add (local.get $word) (local.get $matched)))))
          (local.set $matched (i32.add (local.get $matched) (i32.const 1)))
          (br $match)))
      ;; The line before $i has failed: on to where one can match again.
      (local.set $i (if (result i32) (i32.ge_u (local.get $n) (i32.const 3))
        (then (call $findWord (local.get $i) (local.get $end) (local.get $word)
          (local.get $n)))
        (else (call $skipLines (local.get $i) (local.get $end)
          (i32.load8_u (local.get $word))))))
      (if (i32.lt_s (local.get $i) (i32.const 0))
        (then (return (i32.const -65537)))) ;; -1 - (failed << 16)
      (local.set $failed (i32.const 0))
      (local.set $matched (i32.const 0))
      (br $line))
    (unreachable)))
