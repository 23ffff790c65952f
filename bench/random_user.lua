-- wrk script: every request as a random user. TOKENS_FILE holds one bearer token per line.
local tokens = {}
local path = os.getenv("TOKENS_FILE")
local request_path = os.getenv("REQUEST_PATH") or "/api/projects?limit=20"
for line in io.lines(path) do
  tokens[#tokens + 1] = line
end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))

request = function()
  local token = tokens[math.random(#tokens)]
  return wrk.format("GET", request_path, { ["Authorization"] = "Bearer " .. token })
end
