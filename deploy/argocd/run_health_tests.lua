-- Runs one Argo CD health check the way Argo CD does: the script sees the resource as the global `obj`
-- and returns {status, message}. Argo CD embeds gopher-lua (Lua 5.1) with only the base, table, string
-- and math libraries, so the script runs here in an environment with just those: a health.lua that
-- reaches for io, os or require fails in this runner as it would in Argo CD.
--
-- Usage: lua5.1 run_health_tests.lua <health.lua> <object.lua>
--   <object.lua> is a chunk returning the resource as a Lua table (test/unit/argocd-health.test.ts writes
--   it from testdata/*.yaml). Prints the status on the first line and the message after it.
local healthPath, objectPath = arg[1], arg[2]
if healthPath == nil or objectPath == nil then
  io.stderr:write("usage: lua5.1 run_health_tests.lua <health.lua> <object.lua>\n")
  os.exit(2)
end

local objectChunk = assert(loadfile(objectPath))
setfenv(objectChunk, {})
local object = objectChunk()

local sandbox = {
  obj = object,
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack,
  string = string, table = table, math = math,
}
local health = assert(loadfile(healthPath))
setfenv(health, sandbox)
local ok, hs = pcall(health)
if not ok then
  io.stderr:write("health.lua failed: " .. tostring(hs) .. "\n")
  os.exit(1)
end
if type(hs) ~= "table" or type(hs.status) ~= "string" then
  io.stderr:write("health.lua must return a table with a string status\n")
  os.exit(1)
end
io.write(hs.status, "\n", hs.message or "")
