# jq's `@csv` and `@tsv`, which jaq leaves out: one row from an array of strings, numbers,
# booleans and nulls.
def @csv:
  if type != "array" then error("\(type) (\(tojson)) cannot be csv-formatted, only an array can be") end
  | map(
      if type == "string" then "\"" + (split("\"") | join("\"\"")) + "\""
      elif type == "number" or type == "boolean" then tojson
      elif . == null then ""
      else error("\(type) (\(tojson)) is not valid in a csv row") end
    )
  | join(",");
def @tsv:
  if type != "array" then error("\(type) (\(tojson)) cannot be tsv-formatted, only an array can be") end
  | map(
      if type == "string" then
        split("\\") | join("\\\\") | split("\t") | join("\\t")
        | split("\n") | join("\\n") | split("\r") | join("\\r")
      elif type == "number" or type == "boolean" then tojson
      elif . == null then ""
      else error("\(type) (\(tojson)) is not valid in a tsv row") end
    )
  | join("\t");
