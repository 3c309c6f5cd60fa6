using System.Text.Json.Serialization;

namespace VirtualCluster.Membership.Consul.Client;

// Request and response bodies of the parts of Consul's HTTP API this provider uses, with Consul's own field names.

/// <summary>A KV entry as /v1/kv and /v1/txn return it (Value is base64).</summary>
public sealed record ConsulKvPair(
    string Key,
    string? Value,
    long CreateIndex,
    long ModifyIndex,
    long LockIndex,
    ulong Flags,
    string? Session);

/// <summary>A result of a GET with its X-Consul-Index (for blocking queries).</summary>
public sealed record ConsulResult<T>(T Value, long Index);

/// <summary>One KV operation of a /v1/txn request.</summary>
public sealed record ConsulTxnKvOp(
    string Verb,
    string Key,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Value = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] long Index = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Session = null);

/// <summary>A /v1/txn operation (only KV operations are used).</summary>
public sealed record ConsulTxnOp(ConsulTxnKvOp KV);

/// <summary>A /v1/txn result entry.</summary>
public sealed record ConsulTxnResultEntry(ConsulKvPair? KV);

/// <summary>Why a /v1/txn was rolled back.</summary>
public sealed record ConsulTxnError(int OpIndex, string What);

/// <summary>The body of a /v1/txn answer (200 applied, 409 rolled back).</summary>
public sealed record ConsulTxnResponse(List<ConsulTxnResultEntry>? Results, List<ConsulTxnError>? Errors)
{
    /// <summary>True when the transaction was applied.</summary>
    [JsonIgnore]
    public bool Applied { get; init; }
}

/// <summary>Body of PUT /v1/session/create.</summary>
public sealed record ConsulSessionCreate(string Name, string TTL, string Behavior, string LockDelay,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] List<string>? NodeChecks = null);

/// <summary>A session as /v1/session/info and /renew return it.</summary>
public sealed record ConsulSession(string ID, string? Name, string? TTL, string? Behavior, long CreateIndex, long ModifyIndex);

/// <summary>The TTL check registered with a service.</summary>
public sealed record ConsulAgentCheck(string CheckID, string Name, string TTL, string DeregisterCriticalServiceAfter, string Status = "passing");

/// <summary>Body of PUT /v1/agent/service/register.</summary>
public sealed record ConsulServiceRegistration(
    string ID,
    string Name,
    string Address,
    Dictionary<string, string> Meta,
    ConsulAgentCheck Check);

/// <summary>A check as /v1/agent/checks and /v1/health/service return it.</summary>
public sealed record ConsulHealthCheck(string CheckID, string? Name, string Status, string? ServiceID, string? Output);

/// <summary>A service instance in a /v1/health/service answer.</summary>
public sealed record ConsulServiceEntryService(string ID, string Service, string? Address, Dictionary<string, string>? Meta, long CreateIndex, long ModifyIndex);

/// <summary>The node of a /v1/health/service entry.</summary>
public sealed record ConsulNode(string Node, string? Address);

/// <summary>An entry of a /v1/health/service answer.</summary>
public sealed record ConsulServiceEntry(ConsulNode? Node, ConsulServiceEntryService Service, List<ConsulHealthCheck>? Checks);

/// <summary>Body of PUT /v1/agent/check/update.</summary>
public sealed record ConsulCheckUpdate(string Status, string Output);
