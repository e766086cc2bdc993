using Profiler.Symbols.Resolution;
using Profiler.Tests.Elf;

namespace Profiler.Tests.Dwarf;

/// <summary>DWARF written by hand in assembly, to reach what the compilers here never emit:
/// the 64-bit DWARF format, DW_FORM_indirect, data16, strx3/strx4, addrx1/2/4, rnglistx with
/// startx_length and base_addressx/offset_pair entries, implicit_const call files, and a line
/// table (written by the assembler from .loc) with MD5 checksums. Neither addr2line nor
/// llvm-symbolizer 14 reads these units correctly, so the expected frames are the ones the
/// assembly spells out, address by address.</summary>
public sealed class HandWrittenDwarfTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dwarf-handwritten-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_byte_of_both_functions_resolves_as_written(bool dwarf64)
    {
        SystemTools.Require(["gcc", "nm"]);
        string source = Path.Combine(_directory, "handwritten.s");
        File.WriteAllText(source, Assembly(dwarf64));
        string library = Path.Combine(_directory, "handwritten.so");
        SystemTools.Run("gcc", "-c", "-Wa,--gdwarf-5", source, "-o", library + ".o");
        SystemTools.Run("gcc", "-shared", "-nostdlib", "-o", library, library + ".o");
        var functions = Nm.DefinedFunctions(library, dynamic: false).ToDictionary(f => f.Name, f => f.Address);
        ulong outer = functions["outer"], helper = functions["helper"];

        const string Source = "/src/handmade/outer.c", Header = "/src/handmade/include/inner.h";
        OracleFrame Outer(int line) => new("outer", Source, line);
        OracleFrame Inner(int line) => new("inner_step", Header, line);
        var expected = new Dictionary<ulong, OracleFrame[]>
        {
            [outer + 0] = [Outer(10)],
            [outer + 1] = [Outer(10)],
            [outer + 2] = [Outer(11), Inner(20)],
            [outer + 3] = [Outer(11), Inner(20)],
            [outer + 4] = [Outer(11), Inner(21)],
            [outer + 5] = [Outer(12)],
            [outer + 6] = [Outer(12)],
            [outer + 7] = [Outer(11), Inner(30)],
            [outer + 8] = [Outer(11), Inner(30)],
            [outer + 9] = [Outer(13)],
            [helper + 0] = [new("helper", Source, 40)],
            [helper + 2] = [new("helper", Source, 40)],
        };

        using var resolver = new ElfFrameResolver(new SymbolOptions { DebugDirectories = [] });
        foreach (var (address, frames) in SymbolizerAgreement.Resolve(resolver, library, expected.Keys))
            Assert.True(expected[address].SequenceEqual(frames),
                $"0x{address:x}: expected {string.Join(" > ", expected[address])}, got {string.Join(" > ", frames)}");
        Assert.Empty(resolver.Warnings);
    }

    /// <summary>The program and its DWARF; the unit, string offset, address and range list
    /// tables all in the 32-bit or all in the 64-bit format.</summary>
    private static string Assembly(bool dwarf64)
    {
        string offset = dwarf64 ? ".quad" : ".long";
        string Length(string end, string start) => dwarf64
            ? $".long 0xffffffff\n        .quad {end} - {start}"
            : $".long {end} - {start}";
        return $$"""
                    .file 0 "/src/handmade" "outer.c" md5 0x00112233445566778899aabbccddeeff
                    .file 1 "outer.c" md5 0x00112233445566778899aabbccddeeff
                    .file 2 "include/inner.h" md5 0xffeeddccbbaa99887766554433221100
                    .text
                    .globl outer
                    .type outer, @function
            outer:
            .Louter_begin:
                    .loc 1 10 0
                    nop
                    nop
            .Linline_begin:
                    .loc 2 20 0
                    nop
                    nop
                    .loc 2 21 0
                    nop
            .Linline_end:
                    .loc 1 12 0
                    nop
                    nop
            .Linline2_begin:
                    .loc 2 30 0
                    nop
                    nop
            .Linline2_end:
                    .loc 1 13 0
                    ret
            .Louter_end:
                    .size outer, .-outer
                    .globl helper
                    .type helper, @function
            helper:
            .Lhelper_begin:
                    .loc 1 40 0
                    nop
                    nop
                    ret
            .Lhelper_end:
                    .size helper, .-helper

                    .section .debug_abbrev,"",@progbits
                    .uleb128 1, 0x11        # 1: compile unit, with children
                    .byte 1
                    .uleb128 0x25, 0x27     # producer: strx3
                    .uleb128 0x03, 0x28     # name: strx4
                    .uleb128 0x1b, 0x16     # comp_dir: indirect
                    .uleb128 0x13, 0x05     # language: data2
                    .uleb128 0x72, 0x17     # str_offsets_base: sec_offset
                    .uleb128 0x73, 0x17     # addr_base: sec_offset
                    .uleb128 0x74, 0x17     # rnglists_base: sec_offset
                    .uleb128 0x11, 0x29     # low_pc: addrx1
                    .uleb128 0x12, 0x07     # high_pc: data8
                    .uleb128 0x10, 0x17     # stmt_list: sec_offset
                    .uleb128 0x3ff0, 0x1e   # a vendor attribute: data16
                    .uleb128 0, 0
                    .uleb128 2, 0x2e        # 2: abstract subprogram
                    .byte 0
                    .uleb128 0x03, 0x1a     # name: strx
                    .uleb128 0x20, 0x21     # inline: implicit_const
                    .sleb128 3
                    .uleb128 0, 0
                    .uleb128 3, 0x2e        # 3: concrete subprogram, with children
                    .byte 1
                    .uleb128 0x03, 0x16     # name: indirect
                    .uleb128 0x11, 0x2a     # low_pc: addrx2
                    .uleb128 0x12, 0x0f     # high_pc: udata
                    .uleb128 0, 0
                    .uleb128 4, 0x1d        # 4: inlined subroutine
                    .byte 0
                    .uleb128 0x31, 0x15     # abstract_origin: ref_udata
                    .uleb128 0x55, 0x23     # ranges: rnglistx
                    .uleb128 0x58, 0x21     # call_file: implicit_const
                    .sleb128 1
                    .uleb128 0x59, 0x0b     # call_line: data1
                    .uleb128 0, 0
                    .uleb128 5, 0x2e        # 5: leaf subprogram
                    .byte 0
                    .uleb128 0x03, 0x27     # name: strx3
                    .uleb128 0x11, 0x2c     # low_pc: addrx4
                    .uleb128 0x12, 0x06     # high_pc: data4
                    .uleb128 0, 0
                    .uleb128 0

                    .section .debug_info,"",@progbits
            .Linfo_start:
                    {{Length(".Linfo_end", ".Linfo_version")}}
            .Linfo_version:
                    .short 5
                    .byte 1                 # DW_UT_compile
                    .byte 8
                    {{offset}} 0            # abbreviations at the start of .debug_abbrev
                    .uleb128 1
                    .byte 0, 0, 0           # producer: string 0
                    .long 1                 # name: string 1
                    .uleb128 0x26           # comp_dir: strx2, string 2
                    .short 2
                    .short 0x1d             # DW_LANG_C11
                    {{offset}} .Lstr_offsets_base
                    {{offset}} .Laddr_base
                    {{offset}} .Lrnglists_base
                    .byte 0                 # low_pc: address 0
                    .quad .Lhelper_end - .Louter_begin
                    {{offset}} 0            # the line program at the start of .debug_line
                    .quad 0x0123456789abcdef, 0xfedcba9876543210
            .Ldie_inner:
                    .uleb128 2
                    .uleb128 3              # "inner_step"
                    .uleb128 3
                    .uleb128 0x25           # name: strx1
                    .byte 4                 # "outer"
                    .short 0                # low_pc: address 0
                    .uleb128 .Louter_end - .Louter_begin
                    .uleb128 4
                    .uleb128 .Ldie_inner - .Linfo_start
                    .uleb128 0              # range list 0
                    .byte 11                # call_line
                    .byte 0                 # end of outer's children
                    .uleb128 5
                    .byte 5, 0, 0           # "helper"
                    .long 1                 # low_pc: address 1
                    .long .Lhelper_end - .Lhelper_begin
                    .byte 0                 # end of the unit's children
            .Linfo_end:

                    .section .debug_str,"",@progbits
            .Lstr_producer: .asciz "hand-written DWARF 5"
            .Lstr_name:     .asciz "outer.c"
            .Lstr_dir:      .asciz "/src/handmade"
            .Lstr_inner:    .asciz "inner_step"
            .Lstr_outer:    .asciz "outer"
            .Lstr_helper:   .asciz "helper"

                    .section .debug_str_offsets,"",@progbits
                    {{Length(".Lstr_offsets_end", ".Lstr_offsets_version")}}
            .Lstr_offsets_version:
                    .short 5
                    .short 0
            .Lstr_offsets_base:
                    {{offset}} .Lstr_producer, .Lstr_name, .Lstr_dir, .Lstr_inner, .Lstr_outer, .Lstr_helper
            .Lstr_offsets_end:

                    .section .debug_addr,"",@progbits
                    {{Length(".Laddr_end", ".Laddr_version")}}
            .Laddr_version:
                    .short 5
                    .byte 8
                    .byte 0
            .Laddr_base:
                    .quad .Louter_begin, .Lhelper_begin, .Linline_begin
            .Laddr_end:

                    .section .debug_rnglists,"",@progbits
                    {{Length(".Lrng_end", ".Lrng_version")}}
            .Lrng_version:
                    .short 5
                    .byte 8
                    .byte 0
                    .long 1                 # offset_entry_count
            .Lrnglists_base:
                    {{offset}} .Lrng_inline - .Lrnglists_base
            .Lrng_inline:
                    .byte 3                 # DW_RLE_startx_length
                    .uleb128 2, .Linline_end - .Linline_begin
                    .byte 1                 # DW_RLE_base_addressx
                    .uleb128 0
                    .byte 4                 # DW_RLE_offset_pair
                    .uleb128 .Linline2_begin - .Louter_begin, .Linline2_end - .Louter_begin
                    .byte 0                 # DW_RLE_end_of_list
            .Lrng_end:

            """;
    }
}
