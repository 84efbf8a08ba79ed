-- Argo CD health of a SoracomAccount (cluster-scoped; what orders and profiles spend from and terminate
-- with), from its kstatus conditions (Ready, Reconciling, Stalled) and the operator's own (LedgerUnreadable,
-- TerminationsPaused), so an Application shows whether the account can be used:
--   Healthy      Ready=True: the credentials log in to Soracom
--   Progressing  no status yet, a newer generation not observed yet, Reconciling=True, Ready not True,
--                or the account being deleted (Argo CD 3.6+ shows it; up to 3.5 it says "Pending deletion")
--   Degraded     Stalled=True (the credentials are missing or refused) or LedgerUnreadable=True (a budget
--                ledger cannot be parsed: nothing is ordered or terminated with the account)
--   Suspended    TerminationsPaused=True: SIM terminations wait for a person to resume them
-- Conditions that do not apply may be absent or False: both read as not True.
local hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

-- "Reason: message", so the reason a person acts on is the first thing Argo CD shows.
local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local reason = c.reason or ""
  local message = c.message or ""
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= "" then
    return message
  end
  if reason ~= "" then
    return reason
  end
  return fallback
end

local metadata = obj.metadata or {}

local function result(status, message)
  hs.status = status
  hs.message = message
  -- For an object being deleted, Argo CD 3.6+ shows this status with hs.deletionMessage (hs.message is
  -- dropped then); up to 3.5 it shows Progressing "Pending deletion" without running this script.
  if metadata.deletionTimestamp ~= nil then
    hs.deletionMessage = message
  end
  return hs
end

if metadata.deletionTimestamp ~= nil then
  return result("Progressing", "Deleting: once it is gone, orders and profiles that use this account stall (AccountNotFound)")
end

-- The CRD defaults status to {observedGeneration: 0}, so a fresh object waits for the controller in kstatus too.
if obj.status == nil or obj.status.observedGeneration == 0 then
  return result("Progressing", "Waiting for the controller to report status")
end

local generation = metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  return result("Progressing", "Waiting for the controller to observe generation " .. tostring(generation))
end

local stalled = condition("Stalled")
if isTrue(stalled) then
  return result("Degraded", describe(stalled, "Stalled"))
end

local ledger = condition("LedgerUnreadable")
if isTrue(ledger) then
  return result("Degraded", describe(ledger, "A budget ledger cannot be parsed"))
end

local paused = condition("TerminationsPaused")
if isTrue(paused) then
  return result("Suspended", describe(paused, "Terminations are paused"))
end

local reconciling = condition("Reconciling")
if isTrue(reconciling) then
  return result("Progressing", describe(reconciling, "Reconciling"))
end

local ready = condition("Ready")
if isTrue(ready) then
  return result("Healthy", describe(ready, "Ready"))
end
if ready ~= nil then
  return result("Progressing", describe(ready, "Not ready yet"))
end

return result("Progressing", "Waiting for the Ready condition")
