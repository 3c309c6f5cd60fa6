namespace VirtualCluster.ControlPlane.Tests.Security;

/// <summary>
/// The system clock with the wall-clock time moved by <see cref="Shift"/>: timers and elapsed-time measurements run in
/// real time, so jumping months ahead costs nothing (a FakeTimeProvider would fire every periodic timer of the host
/// once per period skipped), while everything that compares dates (token expiry, key retirement) sees the jump.
/// </summary>
public sealed class ShiftedClock : TimeProvider
{
    private long _shiftTicks;

    public TimeSpan Shift => TimeSpan.FromTicks(Interlocked.Read(ref _shiftTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _shiftTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Shift;
}
