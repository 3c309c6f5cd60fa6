using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VirtualCluster.Monitoring.Otlp;

namespace VirtualCluster.Monitoring.Tests;

/// <summary>
/// The OTLP export with the real OpenTelemetry SDK and exporter, posting to a fake collector (an HTTP listener that
/// keeps the OTLP/HTTP bodies; no OpenTelemetry collector binary is available here, so this proves the wire format's
/// path and content type, not a collector's acceptance). Bad options stop the host with the field named.
/// </summary>
public sealed class OtlpExportTests
{
    private sealed class FakeOtlpCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        public ConcurrentQueue<(string Path, string? ContentType, byte[] Body)> Posts { get; } = new();
        public Uri Address { get; private set; } = null!;

        private FakeOtlpCollector(WebApplication app) => _app = app;

        public static async Task<FakeOtlpCollector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var collector = new FakeOtlpCollector(builder.Build());
            collector._app.MapPost("/{**path}", async (HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                collector.Posts.Enqueue((request.Path, request.ContentType, body.ToArray()));
                return Results.Ok();
            });
            await collector._app.StartAsync();
            collector.Address = new Uri(collector._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            return collector;
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }

    [Fact]
    public async Task Metrics_of_the_named_meters_are_posted_as_OTLP_protobuf_and_others_are_not()
    {
        await using var collector = await FakeOtlpCollector.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddVirtualClusterOtlpMetrics(o =>
        {
            o.Endpoint = collector.Address;
            o.Interval = TimeSpan.FromSeconds(1);
            o.ServiceName = "otlp-test";
            o.Meters = ["VirtualCluster.OtlpTest"];
        });
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            using var meter = new Meter("VirtualCluster.OtlpTest");
            using var other = new Meter("Someone.Else");
            meter.CreateCounter<long>("vc.otlp_test.requests").Add(5);
            other.CreateCounter<long>("someone.else.requests").Add(7);

            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(30) && !collector.Posts.Any(p => Contains(p.Body, "vc.otlp_test.requests")))
                await Task.Delay(100);
            var post = collector.Posts.FirstOrDefault(p => Contains(p.Body, "vc.otlp_test.requests"));
            Assert.True(post.Body is not null, $"no export with the counter within 30 s ({collector.Posts.Count} posts)");
            Assert.Equal("/v1/metrics", post.Path);
            Assert.Equal("application/x-protobuf", post.ContentType);
            Assert.True(Contains(post.Body, "otlp-test"), "service.name resource attribute"); // the positive control of the next line
            Assert.DoesNotContain(collector.Posts, p => Contains(p.Body, "someone.else.requests"));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Theory]
    [InlineData("ftp://collector:4318", "Endpoint")]
    [InlineData(null, "Endpoint")]
    public async Task A_bad_endpoint_stops_the_host_with_the_field_named(string? endpoint, string field)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddVirtualClusterOtlpMetrics(o =>
        {
            o.Endpoint = endpoint is null ? null : new Uri(endpoint);
            o.Interval = TimeSpan.FromMilliseconds(10);
        });
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(field, error.Message);
        Assert.Contains("Interval", error.Message);
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
