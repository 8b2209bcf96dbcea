{
  "targets": [
    {
      "target_name": "portcullis_scan",
      "sources": ["native/binding.c", "native/connect_scan.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", { "type": "none", "sources": [] }]]
    }
  ]
}
