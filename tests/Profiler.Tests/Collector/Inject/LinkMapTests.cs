using Profiler.Collectors.Linux.Inject;
using static Profiler.Tests.Collector.Inject.GotWorld;

namespace Profiler.Tests.Collector.Inject;

/// <summary>The dynamic linker's list of loaded objects, read from a memory laid out as glibc's
/// r_debug and link_map are.</summary>
public sealed class LinkMapTests
{
    const ulong RDebug = 0x7f40_0000_3000, Nodes = 0x7f40_0001_0000, Names = 0x7f40_0002_0000;

    static void Node(GotWorld world, int index, ulong bias, string name, int next)
    {
        ulong node = Nodes + (ulong)index * 0x100;
        world.Words[node] = bias;
        world.Words[node + 8] = name.Length == 0 ? 0 : Names + (ulong)index * 0x100;
        world.Words[node + 24] = next < 0 ? 0 : Nodes + (ulong)next * 0x100;
        var bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0\0\0\0\0\0\0\0");
        for (int i = 0; i + 8 <= bytes.Length; i += 8)
            world.Words[Names + (ulong)index * 0x100 + (ulong)i] = BitConverter.ToUInt64(bytes, i);
    }

    /// <summary>Strings are read a byte at a time; the fake memory serves whole words.</summary>
    sealed class ByteMemory(GotWorld words) : IProcessMemory
    {
        public bool TryRead(ulong address, Span<byte> buffer)
        {
            for (int i = 0; i < buffer.Length; i++)
            {
                ulong at = address + (ulong)i, word = at & ~7UL;
                if (!words.Words.TryGetValue(word, out ulong value)) return false;
                buffer[i] = (byte)(value >> (int)(8 * (at - word)));
            }
            return true;
        }

        public bool TryWrite(ulong address, ReadOnlySpan<byte> data) => false;
    }

    static GotWorld Chain(int state)
    {
        var world = new GotWorld();
        world.Words[RDebug] = 1;
        world.Words[RDebug + 8] = Nodes;
        world.Words[RDebug + 24] = (ulong)state;
        Node(world, 0, 0x5555_0000_0000, "", 1);
        Node(world, 1, 0x7fff_f000_0000, "linux-vdso.so.1", 2);
        Node(world, 2, 0x7f10_0000_0000, "/lib/x86_64-linux-gnu/libjemalloc.so.2", 3);
        Node(world, 3, 0x7f00_0000_0000, "/lib/x86_64-linux-gnu/libc.so.6", 4);
        Node(world, 4, 0x7f40_0000_0000, "/lib64/ld-linux-x86-64.so.2", -1);
        return world;
    }

    [Fact]
    public void The_list_is_read_in_order_with_names_and_state()
    {
        var world = Chain(state: 0);

        var map = LinkMap.Read(new ByteMemory(world), RDebug);

        Assert.NotNull(map);
        Assert.True(map.IsConsistent);
        Assert.Equal(["", "linux-vdso.so.1", "/lib/x86_64-linux-gnu/libjemalloc.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"],
            map.Entries.Select(e => e.Name));
        Assert.Equal(0x7f10_0000_0000UL, map.Entries[2].LoadBias);
    }

    [Fact]
    public void A_load_in_progress_shows_in_the_state()
    {
        Assert.False(LinkMap.Read(new ByteMemory(Chain(state: 1)), RDebug)!.IsConsistent);
    }

    [Fact]
    public void A_list_that_loops_or_cannot_be_read_gives_nothing()
    {
        var looping = Chain(state: 0);
        looping.Words[Nodes + 4 * 0x100 + 24] = Nodes + 0x100;
        var broken = Chain(state: 0);
        broken.Words.Remove(Nodes + 2 * 0x100 + 24);

        Assert.Null(LinkMap.Read(new ByteMemory(looping), RDebug));
        Assert.Null(LinkMap.Read(new ByteMemory(broken), RDebug));
        Assert.Null(LinkMap.Read(new ByteMemory(new GotWorld()), RDebug));
    }

    [Fact]
    public void The_plans_modules_are_ordered_by_the_list_matched_on_load_bias()
    {
        var world = Chain(state: 0);
        world.Load(Image(App, []), 0x5555_0000_0000);
        world.Load(Image(Libc, []), 0x7f00_0000_0000);
        world.Load(Image(LibJemalloc, []), 0x7f10_0000_0000);
        world.Load(Image(Loader, []), 0x7f40_0000_0000);
        const string Unlisted = "/opt/plugin.so";
        world.Load(Image(Unlisted, []), 0x7e00_0000_0000);

        var order = LinkMap.Read(new ByteMemory(world), RDebug)!.Order(world.Plan(), App);

        Assert.Equal([App, LibJemalloc, Libc, Loader, Unlisted], order.Select(m => m.Path));
    }
}
