namespace VirtualCluster.Api;

/// <summary>One token signing key of the cluster, as <c>GET /v1/keys</c> lists it (the public half only).</summary>
/// <param name="Kid">Its key id, the <c>kid</c> header of the tokens it signed.</param>
/// <param name="Created">When it was made.</param>
/// <param name="RetireAfter">When its tokens stop being accepted; null while a control plane signs with it.</param>
/// <param name="State"><c>signing</c> (a control plane signs with it), <c>retiring</c> (rotated out, its tokens still accepted) or <c>retired</c> (refused).</param>
/// <param name="Here">True when the control plane that answered signs with it.</param>
public sealed record TokenKeyView(string Kid, DateTimeOffset Created, DateTimeOffset? RetireAfter, string State, bool Here);

/// <summary>Answer of <c>GET /v1/keys</c> and <c>POST /v1/keys/rotate</c>.</summary>
/// <param name="Keys">The published keys, oldest first.</param>
/// <param name="RotateEvery">How old a control plane's key may get before it is replaced.</param>
/// <param name="RotateRequestedAt">The last <c>vcluster keys rotate</c>: control planes with an older key replace it.</param>
/// <param name="LegacyUntil">In a cluster made before ES256: until when tokens of its old HMAC key are accepted.</param>
public sealed record TokenKeysResponse(IReadOnlyList<TokenKeyView> Keys, TimeSpan RotateEvery, DateTimeOffset? RotateRequestedAt, DateTimeOffset? LegacyUntil);
