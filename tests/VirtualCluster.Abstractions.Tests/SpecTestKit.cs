using System.Text.Json.Nodes;

namespace VirtualCluster.Abstractions.Tests;

/// <summary>Builds spec documents and checks parse results.</summary>
internal static class SpecTestKit
{
    /// <summary>A small valid spec; tests change one thing at a time so each failure has one cause.</summary>
    public static JsonObject Minimal() => new()
    {
        ["name"] = "web",
        ["command"] = "dotnet",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "http" }),
    };

    public static SpecParseResult ParseWith(Action<JsonObject> change)
    {
        var document = Minimal();
        change(document);
        return ServiceSpecParser.Parse(document.ToJsonString());
    }

    public static ServiceSpec AssertValid(SpecParseResult result)
    {
        Assert.True(result.Succeeded, "unexpected errors: " + string.Join(" | ", result.Errors.Select(e => $"{e.Field}: {e.Message}")));
        Assert.Empty(result.Errors);
        return result.Spec!;
    }

    /// <summary>Asserts the result failed with exactly one error, on <paramref name="field"/>, mentioning <paramref name="text"/>.</summary>
    public static void AssertError(SpecParseResult result, string field, string text)
    {
        Assert.False(result.Succeeded);
        Assert.Null(result.Spec);
        var error = Assert.Single(result.Errors);
        Assert.Equal(field, error.Field);
        Assert.Contains(text, error.Message, StringComparison.Ordinal);
    }

    /// <summary>ServiceSpec holds lists and dictionaries, so record equality is by reference; compare the documents instead.</summary>
    public static void AssertSameSpec(ServiceSpec expected, ServiceSpec actual) =>
        Assert.Equal(ServiceSpecParser.ToJson(expected), ServiceSpecParser.ToJson(actual));

    /// <summary>The directory holding VirtualCluster.Sdk.sln, found by walking up from the test binaries.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VirtualCluster.Sdk.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("VirtualCluster.Sdk.sln not found above " + AppContext.BaseDirectory);
    }
}
