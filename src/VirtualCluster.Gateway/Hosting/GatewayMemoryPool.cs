using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace VirtualCluster.Gateway;

/// <summary>
/// Kestrel's memory pool for a gateway: blocks of <see cref="GatewayOptions.IoBlockSize"/> (32 KiB) instead of Kestrel's
/// 4 KiB. Kestrel's socket transport receives into one pool block at a time, each receive preceded by a one-byte
/// peek: with 4 KiB blocks an agent's tunnel (a WebSocket carrying whole responses) cost the gateway two system
/// calls per 4 KiB, 50 for a 100 KiB response, which was most of its CPU per request. Memory stays bounded the same
/// way: Kestrel holds a block only while a connection has bytes in flight, and a pool keeps at most
/// <see cref="MaxRetained"/> free blocks (the rest go to the garbage collector).
/// </summary>
internal sealed class GatewayMemoryPoolFactory(IOptions<GatewayOptions> options) : IMemoryPoolFactory<byte>
{
    /// <summary>Free blocks a pool keeps for reuse.</summary>
    public const int MaxRetained = 256;

    public MemoryPool<byte> Create(MemoryPoolOptions? poolOptions = null) => new GatewayMemoryPool(options.Value.IoBlockSize, MaxRetained);
}

/// <summary>A pool of fixed-size pinned blocks (pinned: sockets on some platforms pin buffers for the length of an operation).</summary>
internal sealed class GatewayMemoryPool(int blockSize, int maxRetained) : MemoryPool<byte>
{
    private readonly ConcurrentQueue<Block> _free = new();
    private int _freeCount;
    private volatile bool _disposed;

    public override int MaxBufferSize => blockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, blockSize);
        if (_free.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _freeCount);
            block.Rented();
            return block;
        }
        return new Block(this, GC.AllocateUninitializedArray<byte>(blockSize, pinned: true));
    }

    private void Return(Block block)
    {
        if (_disposed || Interlocked.Increment(ref _freeCount) > maxRetained)
        {
            if (!_disposed) Interlocked.Decrement(ref _freeCount);
            return; // dropped: the garbage collector takes it
        }
        _free.Enqueue(block);
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        while (_free.TryDequeue(out _)) { }
    }

    private sealed class Block(GatewayMemoryPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private int _returned;

        public Memory<byte> Memory => array;

        public void Rented() => Volatile.Write(ref _returned, 0);

        public void Dispose()
        {
            // Returned once, whatever the caller does: a double dispose must not hand one block to two renters.
            if (Interlocked.Exchange(ref _returned, 1) == 0) pool.Return(this);
        }
    }
}
