namespace Profiler.Symbols.Demangling.Rust;

/// <summary>Types: primitives, references, pointers, arrays, tuples, fn pointers and trait objects.</summary>
internal sealed partial class V0Printer
{
    private static string? BasicType(char tag) => tag switch
    {
        'b' => "bool",
        'c' => "char",
        'e' => "str",
        'u' => "()",
        'a' => "i8",
        's' => "i16",
        'l' => "i32",
        'x' => "i64",
        'n' => "i128",
        'i' => "isize",
        'h' => "u8",
        't' => "u16",
        'm' => "u32",
        'y' => "u64",
        'o' => "u128",
        'j' => "usize",
        'f' => "f32",
        'd' => "f64",
        'z' => "!",
        'p' => "_",
        'v' => "...",
        _ => null,
    };

    private void PrintType()
    {
        char tag = Next();
        if (_failed)
        {
            return;
        }

        if (BasicType(tag) is { } basic)
        {
            Print(basic);
            return;
        }

        if (!EnterNested())
        {
            LeaveNested();
            return;
        }

        switch (tag)
        {
            case 'R' or 'Q':
                Print('&');
                if (Eat('L'))
                {
                    ulong lifetime = Integer62();
                    if (lifetime != 0)
                    {
                        PrintLifetime(lifetime);
                        Print(' ');
                    }
                }

                if (tag == 'Q')
                {
                    Print("mut ");
                }

                PrintType();
                break;
            case 'P' or 'O':
                Print(tag == 'P' ? "*const " : "*mut ");
                PrintType();
                break;
            case 'A' or 'S':
                Print('[');
                PrintType();
                if (tag == 'A')
                {
                    Print("; ");
                    PrintConst(inValue: true);
                }

                Print(']');
                break;
            case 'T':
                Print('(');
                if (PrintList(PrintType, ", ") == 1)
                {
                    Print(',');
                }

                Print(')');
                break;
            case 'F':
                InBinder(PrintFunctionSignature);
                break;
            case 'D':
                PrintTraitObject();
                break;
            case 'B':
                PrintBackref(PrintType);
                break;
            default:
                // Any other tag starts a path naming a type.
                _position--;
                PrintPath(inValue: false);
                break;
        }

        LeaveNested();
    }

    /// <summary>[U] [K &lt;abi&gt;] &lt;parameter types&gt; E &lt;return type&gt;</summary>
    private void PrintFunctionSignature()
    {
        bool isUnsafe = Eat('U');
        string? abi = null;
        if (Eat('K'))
        {
            if (Eat('C'))
            {
                abi = "C";
            }
            else
            {
                var name = ParseIdentifier();
                if (name.Ascii.Length == 0 || name.Punycode.Length > 0)
                {
                    Invalid();
                    return;
                }

                // '-' in ABI names ("C-unwind") is mangled as '_'.
                abi = name.Ascii.Replace('_', '-');
            }
        }

        if (isUnsafe)
        {
            Print("unsafe ");
        }

        if (abi is not null)
        {
            Print("extern \"");
            Print(abi);
            Print("\" ");
        }

        Print("fn(");
        PrintList(PrintType, ", ");
        Print(')');
        if (!Eat('u'))
        {
            // A unit return type is left implicit.
            Print(" -> ");
            PrintType();
        }
    }

    /// <summary>D [&lt;binder&gt;] &lt;traits&gt; E L &lt;lifetime&gt;: "dyn Trait&lt;Assoc = T&gt; + Send + 'a".</summary>
    private void PrintTraitObject()
    {
        Print("dyn ");
        InBinder(() => PrintList(PrintDynTrait, " + "));
        if (!Eat('L'))
        {
            Invalid();
            return;
        }

        ulong lifetime = Integer62();
        if (lifetime != 0)
        {
            Print(" + ");
            PrintLifetime(lifetime);
        }
    }

    /// <summary>A trait path followed by associated type bindings (p &lt;name&gt; &lt;type&gt;), which go inside its generics.</summary>
    private void PrintDynTrait()
    {
        bool open = PrintPathLeavingGenericsOpen();
        while (Eat('p'))
        {
            Print(open ? ", " : "<");
            open = true;
            PrintIdentifier(ParseIdentifier());
            Print(" = ");
            PrintType();
        }

        if (open)
        {
            Print('>');
        }
    }

    /// <summary>Prints a path; if it ends in generic arguments, omits the closing '&gt;' and returns true.</summary>
    private bool PrintPathLeavingGenericsOpen()
    {
        if (Eat('B'))
        {
            bool open = false;
            PrintBackref(() => open = PrintPathLeavingGenericsOpen());
            return open;
        }

        if (Eat('I'))
        {
            PrintPath(inValue: false);
            Print('<');
            PrintList(PrintGenericArgument, ", ");
            return true;
        }

        PrintPath(inValue: false);
        return false;
    }
}
