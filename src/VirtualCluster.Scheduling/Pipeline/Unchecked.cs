using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VirtualCluster.Scheduling;

/// <summary>
/// Array reads without bounds checks for the hot loops of the built-in stages. Only used with node indexes that
/// the pipeline produced itself (each is checked against the node count once, see <see cref="PlacementPipeline"/>),
/// so every access stays inside the per-node arrays.
/// </summary>
internal static class Unchecked
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref T At<T>(T[] array, int index) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref T At<T>(Span<T> span, int index) => ref Unsafe.Add(ref MemoryMarshal.GetReference(span), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Get<T>(ReadOnlySpan<T> span, int index) => Unsafe.Add(ref MemoryMarshal.GetReference(span), index);
}
