namespace VirtualCluster.Abstractions.Tests;

public class QuantityTests
{
    [Theory]
    [InlineData("250m", 250)]
    [InlineData("0.5", 500)]
    [InlineData("2", 2000)]
    [InlineData("1.25", 1250)]
    [InlineData(" 100m ", 100)]
    [InlineData("0", 0)]
    public void ParsesCpu(string text, long millicores)
    {
        Assert.True(Quantity.TryParseCpu(text, out var parsed));
        Assert.Equal(millicores, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5m")]
    [InlineData("2000000")]
    [InlineData(null)]
    public void RejectsBadCpu(string? text) => Assert.False(Quantity.TryParseCpu(text, out _));

    [Theory]
    [InlineData("64Mi", 64L << 20)]
    [InlineData("1Gi", 1L << 30)]
    [InlineData("1.5Gi", 3L << 29)]
    [InlineData("500M", 500_000_000)]
    [InlineData("1k", 1_000)]
    [InlineData("2Ki", 2_048)]
    [InlineData("1024", 1_024)]
    [InlineData("10B", 10)]
    [InlineData("64Ti", 64L << 40)]
    public void ParsesBytes(string text, long bytes)
    {
        Assert.True(Quantity.TryParseBytes(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("64MB")]
    [InlineData("-1Mi")]
    [InlineData("Mi")]
    [InlineData("1Pi")]
    [InlineData("1e3")]
    [InlineData("5000000Ti")]
    public void RejectsBadBytes(string text) => Assert.False(Quantity.TryParseBytes(text, out _));

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(512, "512 B")]
    [InlineData(1024, "1 KiB")]
    [InlineData(64L << 20, "64 MiB")]
    [InlineData(7L << 29, "3.5 GiB")]
    [InlineData(8L << 30, "8 GiB")]
    public void FormatsBytes(long bytes, string text) => Assert.Equal(text, Quantity.FormatBytes(bytes));

    [Theory]
    [InlineData(250, "250m")]
    [InlineData(1500, "1.5 cores")]
    [InlineData(2000, "2 cores")]
    public void FormatsCpu(long millicores, string text) => Assert.Equal(text, Quantity.FormatCpu(millicores));
}
