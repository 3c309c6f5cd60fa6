using Microsoft.Extensions.Logging;

namespace VirtualCluster.Monitoring.History;

public sealed partial class MetricsHistory
{
    private static partial class Log
    {
        [LoggerMessage(8201, LogLevel.Warning, "Metrics history holds its maximum of {Max} series; samples of {Series} and further new series are dropped (raise HistoryOptions.MaxSeries)")]
        public static partial void SeriesLimit(ILogger logger, int max, string series);

        [LoggerMessage(8202, LogLevel.Warning, "Could not write {Count} metrics history blocks ({Reason}); they are written at the next flush")]
        public static partial void FlushFailed(ILogger logger, int count, string reason);

        [LoggerMessage(8203, LogLevel.Warning, "Metrics history block {Key} is not readable; it is ignored and replaced")]
        public static partial void CorruptBlock(ILogger logger, string key);

        [LoggerMessage(8204, LogLevel.Debug, "Deleted {Count} metrics history blocks past their retention")]
        public static partial void Swept(ILogger logger, int count);
    }
}
