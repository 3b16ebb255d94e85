//! Whatever the input looks like, one parse+emit pass reaches a fixed point:
//! re-reading the output gives the same tree and the same bytes (stable diffs).

use hush_crypto::stores::yaml::{emit_documents, parse_documents, YamlOptions};

const ODD_INPUTS: &[&str] = &[
    "a: [1, 2] # after flow\nb: {c: d} # after map\n",
    "a: [\n  1, # one\n  2\n]\n",
    "a: # on key\n  - x\n  # between\n  - y # inline y\n# end of a\nb: 1\n",
    "l:\n- a\n- b: 1\n  # inside item\n  c: 2\n# after list\n",
    "l:\n- # dash comment\n  a: 1\n",
    "base: &b\n  x: 1 # inline in anchor\ncopy: *b\n",
    "k: >\n  folded\n  text\n\n  para\nl: |+\n  keep\n\n",
    "? complex key\n: value\n",
    "'quoted key': \"quoted value\" # c\n\"k2\": 'v2'\n",
    "a:\n    b:\n        c:\n            # deep foot\n    # mid foot\n# top foot\n",
    "a: 1\n---\n# second doc head\nb: 2\n---\n",
    "empty_map: {}\nempty_list: []\nnull_value:\ntilde: ~\n",
    "list:\n    - - a # in\n      - b\n    - [c, d]\n    - {e: f}\n",
    "x: 'multi\n  line single'\ny: \"multi\\n\\\n  line double\"\n",
    "# only comments\n# here\n",
    "a: |\n    text # not a comment\n  # a comment\nb: 1\n",
];

#[test]
fn one_pass_reaches_a_fixed_point() {
    for input in ODD_INPUTS {
        for indent in [2, 4] {
            let opts = YamlOptions { indent };
            let first = parse_documents(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            let text = emit_documents(&first, &opts);
            let second =
                parse_documents(&text).unwrap_or_else(|e| panic!("{input:?} -> {text:?}: {e}"));
            let again = emit_documents(&second, &opts);
            assert_eq!(again, text, "not stable for input {input:?}");
            let third = parse_documents(&again).expect("parses");
            assert_eq!(third, second, "tree changed for input {input:?}");
        }
    }
}
