
set edit:completion:arg-completer[telnyx-edge] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) _TELNYX_EDGE_COMPLETE="elvish" telnyx-edge -- $@words) | to-lines
}

