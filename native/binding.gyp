{
  "targets": [
    {
      "target_name": "mediabot_native",
      "sources": ["mediabot_native.c", "speech_decoder.c"],
      "include_dirs": ["<!(node find-opus.cjs include)", "<!(node find-opus.cjs silk)", "<!(node find-opus.cjs celt)"],
      "libraries": ["<!(node find-opus.cjs lib)"],
      "cflags": ["-O3", "-Wall", "-fPIC", "-ffast-math"],
      "conditions": [
        ["OS=='linux'", { "sources": ["batched_udp.c"], "defines": ["MEDIABOT_BATCHED_UDP"] }]
      ]
    }
  ]
}
