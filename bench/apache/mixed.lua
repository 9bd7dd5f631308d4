-- wrk script: cycle through the requests in the file named by REQUESTS (one a line:
-- path, then TAB-separated "Name: value" header fields), each thread from its own start.
local lines = {}
local counter = 0

function init(args)
  for line in io.lines(os.getenv("REQUESTS")) do
    local fields = {}
    for f in string.gmatch(line, "[^\t]+") do
      table.insert(fields, f)
    end
    local headers = { Host = "w3id.org" }
    for i = 2, #fields do
      local name, value = string.match(fields[i], "^([^:]+): (.*)$")
      if name then headers[name] = value end
    end
    table.insert(lines, wrk.format("GET", fields[1], headers))
  end
  counter = math.random(#lines)
end

function request()
  counter = counter % #lines + 1
  return lines[counter]
end
