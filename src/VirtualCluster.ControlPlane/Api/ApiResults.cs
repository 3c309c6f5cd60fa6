using System.Text.Json;
using Microsoft.AspNetCore.Http;
using VirtualCluster.Api;

namespace VirtualCluster.ControlPlane.Api;

/// <summary>JSON answers and defensive body reading for the API.</summary>
internal static class ApiResults
{
    /// <summary>Largest request body accepted, in bytes.</summary>
    public const int MaxBodyBytes = 1 << 20;

    public static IResult Json<T>(T value, int status = 200) => Results.Json(value, VirtualClusterJson.Options, statusCode: status);

    public static IResult Error(int status, string message) => Json(new ApiError(message), status);

    public static IResult Error(int status, ApiError error) => Json(error, status);

    /// <summary>Reads the body as text, refusing bodies over <see cref="MaxBodyBytes"/>. Returns null and an error result on failure.</summary>
    public static async Task<(string? Text, IResult? Error)> ReadTextAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBodyBytes)
            return (null, Error(413, $"request body is larger than {MaxBodyBytes} bytes"));
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
                return (null, Error(413, $"request body is larger than {MaxBodyBytes} bytes"));
            buffer.Write(chunk, 0, read);
        }
        try
        {
            return (new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length), null);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return (null, Error(400, "request body is not valid UTF-8"));
        }
    }

    /// <summary>Reads a JSON body into <typeparamref name="T"/>, answering 400 with the parser's complaint on failure.</summary>
    public static async Task<(T? Value, IResult? Error)> ReadJsonAsync<T>(HttpRequest request, CancellationToken ct) where T : class
    {
        var (text, error) = await ReadTextAsync(request, ct);
        if (error is not null) return (null, error);
        try
        {
            var value = JsonSerializer.Deserialize<T>(text!, VirtualClusterJson.Options);
            return value is null ? (null, Error(400, "request body is empty; send a JSON object")) : (value, null);
        }
        catch (JsonException e)
        {
            return (null, Error(400, $"request body is not a valid {typeof(T).Name}: {e.Message}"));
        }
    }
}
