using System.Buffers.Binary;
using Profiler.Core.Model;
using Profiler.Symbols.Elf;
using Profiler.Symbols.Unwinding;
using Profiler.Tests.Elf;
using static Profiler.Tests.Unwinding.Cfa;

namespace Profiler.Tests.Unwinding;

/// <summary>Corrupt call frame information must cost at most the entries it corrupts: no exception
/// escapes, and intact entries before the damage keep working.</summary>
public sealed class MalformedCfiTests
{
    private const ulong Section = 0x2000;
    private const ulong Function = 0x1000;

    private static byte[] ValidEhFrame(out int secondFde)
    {
        var builder = new CfiBuilder();
        int cie = builder.Cie("zR");
        builder.Fde(cie, Section, Function, 0x10, Program(AdvanceLoc(1), DefCfaOffset(16), Offset(DwarfRegister.Rbx, 2)));
        secondFde = builder.Fde(cie, Section, Function + 0x10, 0x10, Program(AdvanceLoc(1), DefCfaOffset(32)));
        builder.Terminator();
        return builder.Bytes;
    }

    private static void LookUpEverywhere(UnwindTables tables)
    {
        for (ulong address = Function - 8; address < Function + 0x28; address++)
            tables.TryFindRow(address, out _);
    }

    [Fact]
    public void Every_truncation_of_a_section_is_survived()
    {
        var bytes = ValidEhFrame(out int secondFde);
        for (int length = 0; length <= bytes.Length; length++)
        {
            var tables = UnwindTables.FromEhFrame(bytes[..length], Section);
            LookUpEverywhere(tables);
            // The first FDE is usable as soon as it is complete.
            Assert.Equal(length >= secondFde, tables.TryFindRow(Function + 1, out _));
        }
    }

    /// <summary>The CIE is bytes 0–23, the first FDE starts at 24 (its CIE pointer at 28).</summary>
    [Theory]
    [InlineData(0, 0xffff_fff0u)]  // CIE length past the end
    [InlineData(0, 2u)]            // CIE length too short for its id
    [InlineData(24, 0x7fff_ffffu)] // FDE length past the end
    [InlineData(24, 3u)]           // FDE length shorter than its fields
    public void Bad_lengths_are_survived(int offset, uint value)
    {
        var bytes = ValidEhFrame(out _);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
        var tables = UnwindTables.FromEhFrame(bytes, Section);
        LookUpEverywhere(tables);
        Assert.False(tables.TryFindRow(Function + 1, out _));
    }

    [Theory]
    [InlineData(0x1000u)] // before the section
    [InlineData(4u)]      // into the middle of the CIE
    [InlineData(0u)]      // 0: the entry claims to be a CIE, with garbage in it
    public void A_bad_cie_pointer_loses_only_its_fde(uint value)
    {
        var bytes = ValidEhFrame(out _);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), value);
        var tables = UnwindTables.FromEhFrame(bytes, Section);
        LookUpEverywhere(tables);
        Assert.False(tables.TryFindRow(Function + 1, out _));
        Assert.True(tables.TryFindRow(Function + 0x11, out var row));
        Assert.Equal(32, row.Cfa.Offset);
    }

    [Fact]
    public void Bad_programs_give_no_row()
    {
        foreach (var program in new[]
        {
            Program([0x0b]),                                      // restore_state with nothing remembered
            Program(Enumerable.Repeat(RememberState(), 20).ToArray()), // nesting deeper than any compiler's
            Program([0x3f]),                                      // unknown opcode
            Program([0x0c, 0x07, 0x80, 0x80, 0x80, 0x80, 0x80]),   // an offset running off the end (7 bytes: no padding)
            Program([0x0f, 0x7f, 0x01]),                          // expression longer than the FDE
            Program([0x0c, 0x07, 0xff, 0xff, 0xff, 0xff, 0x7f]),   // CFA offset beyond 2 GB
        })
        {
            var builder = new CfiBuilder();
            int cie = builder.Cie();
            builder.Fde(cie, Section, Function, 0x10, program);
            Assert.False(UnwindTables.FromEhFrame(builder.Bytes, Section).TryFindRow(Function + 1, out _),
                Convert.ToHexString(program));
        }
    }

    [Fact]
    public void Unsupported_cies_make_their_fdes_unusable()
    {
        foreach (var (augmentation, version, returnAddress) in new[] { ("zR", (byte)2, 16UL), ("xyz", (byte)1, 16UL), ("zR", (byte)1, 17UL) })
        {
            var builder = new CfiBuilder();
            int cie = builder.Cie(augmentation, version, returnAddress: returnAddress, augmentationData: [0x1b]);
            builder.Fde(cie, Section, Function, 0x10, []);
            Assert.False(UnwindTables.FromEhFrame(builder.Bytes, Section).TryFindRow(Function + 1, out _),
                $"{augmentation} v{version} ra {returnAddress}");
        }
    }

    [Fact]
    public void Random_corruption_of_a_real_eh_frame_and_header_is_survived()
    {
        SystemTools.Require([], SystemTools.Libc);
        using var elf = ElfFile.Open(SystemTools.Libc);
        var eh = elf.FindSection(".eh_frame")!;
        var hdr = elf.FindSection(".eh_frame_hdr")!;
        var ehBytes = elf.ReadSection(eh).ToArray();
        var hdrBytes = elf.ReadSection(hdr).ToArray();
        var text = elf.FindSection(".text")!;
        var random = new Random(20240601);
        for (int round = 0; round < 40; round++)
        {
            var ehCopy = ehBytes.ToArray();
            var hdrCopy = hdrBytes.ToArray();
            for (int i = 0; i < 200; i++)
                ehCopy[random.Next(ehCopy.Length)] = (byte)random.Next(256);
            for (int i = 0; i < 20; i++)
                hdrCopy[random.Next(hdrCopy.Length)] = (byte)random.Next(256);
            var tables = UnwindTables.FromEhFrame(ehCopy, eh.Address, round % 2 == 0 ? hdrCopy : null, hdr.Address);
            for (int i = 0; i < 500; i++)
                tables.TryFindRow(text.Address + (ulong)random.NextInt64((long)text.Size), out _);
        }
    }

    [Fact]
    public void Random_expressions_never_throw()
    {
        var random = new Random(7);
        var registers = new RegisterSet();
        registers.Set(DwarfRegister.Rsp, 0x1000);
        var stack = new byte[64];
        for (int i = 0; i < 20000; i++)
        {
            var expression = new byte[random.Next(1, 24)];
            random.NextBytes(expression);
            DwarfExpression.TryEvaluate(expression, registers, new StackMemory(stack, 0x1000), 0x1010, 0x1010, out _);
        }
    }

    /// <summary>Garbage stacks with real modules: whatever the unwinder returns must pass its own
    /// promise — every pc after the leaf lies in an executable mapping.</summary>
    [Fact]
    public void Garbage_stacks_never_yield_frames_outside_the_modules()
    {
        SystemTools.Require([], SystemTools.Libc);
        using var elf = ElfFile.Open(SystemTools.Libc);
        var load = elf.LoadSegments.First(s => (s.Flags & ElfSegmentFlags.Execute) != 0);
        const ulong bias = 0x7f00_0000_0000;
        var libc = new MappedModule(SystemTools.Libc, elf.BuildId ?? "", bias + (load.VirtualAddress & ~0xfffUL),
            bias + load.VirtualAddress + load.MemorySize, load.FileOffset & ~0xfffUL);
        var modules = new SortedModuleLookup([libc]);
        var unwinder = new StackUnwinder(new UnwindTableCache());
        var random = new Random(11);
        var stack = new byte[4096];
        var pcs = new ulong[128];
        const ulong stackAddress = 0x7ffc_0000_0000;
        int callers = 0;
        for (int round = 0; round < 2000; round++)
        {
            // Words that are often code addresses in libc or pointers into the stack, like real stacks.
            for (int i = 0; i < stack.Length; i += 8)
            {
                ulong word = random.Next(3) switch
                {
                    0 => libc.Start + (ulong)random.NextInt64((long)(libc.End - libc.Start)),
                    1 => stackAddress + (ulong)random.Next(stack.Length),
                    _ => (ulong)random.NextInt64(),
                };
                BinaryPrimitives.WriteUInt64LittleEndian(stack.AsSpan(i), word);
            }
            ulong rip = libc.Start + (ulong)random.NextInt64((long)(libc.End - libc.Start));
            var registers = new UnwindRegisters(rip, stackAddress + (ulong)random.Next(64) * 8, stackAddress + (ulong)random.Next(stack.Length));
            var result = unwinder.Unwind(registers, stack, stackAddress, modules, pcs);
            Assert.All(pcs[1..result.FrameCount], pc => Assert.NotNull(modules.Find(pc)));
            callers += result.FrameCount - 1;
        }
        // Garbage that looks like code addresses does get followed: the check above was exercised.
        Assert.True(callers > 200, $"only {callers} callers found in 2000 garbage stacks");
    }
}
