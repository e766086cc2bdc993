namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Placing pending modifiers around a declarator: "(*)", "(&amp;) [3]", trailing "const".</summary>
internal sealed partial class Printer
{
    private void PrintModifierList(Modifier? modifiers, bool suffix)
    {
        for (var current = modifiers; current is not null && !_failed; current = current.Next)
        {
            if (current.Printed || (!suffix && current.Node.IsFunctionQualifier))
            {
                continue;
            }

            current.Printed = true;
            var savedTemplates = _templates;
            _templates = current.Templates;
            switch (current.Node.Kind)
            {
                case NodeKind.FunctionType:
                    PrintFunctionSignature(current.Node, current.Next);
                    _templates = savedTemplates;
                    return;
                case NodeKind.ArrayType:
                    PrintArrayDimension(current.Node, current.Next);
                    _templates = savedTemplates;
                    return;
                case NodeKind.LocalName:
                    PrintLocalNameModifier(current.Node);
                    _templates = savedTemplates;
                    return;
                default:
                    PrintModifier(current.Node);
                    _templates = savedTemplates;
                    break;
            }
        }
    }

    private void PrintModifier(Node modifier)
    {
        switch (modifier.Kind)
        {
            case NodeKind.Restrict or NodeKind.RestrictThis:
                Append(" restrict");
                return;
            case NodeKind.Volatile or NodeKind.VolatileThis:
                Append(" volatile");
                return;
            case NodeKind.Const or NodeKind.ConstThis:
                Append(" const");
                return;
            case NodeKind.TransactionSafe:
                Append(" transaction_safe");
                return;
            case NodeKind.Noexcept or NodeKind.ThrowSpec:
                Append(modifier.Kind == NodeKind.Noexcept ? " noexcept" : " throw");
                if (modifier.Right is not null)
                {
                    Append('(');
                    PrintNode(modifier.Right);
                    Append(')');
                }

                return;
            case NodeKind.VendorTypeQualifier:
                Append(' ');
                PrintNode(modifier.Right);
                return;
            case NodeKind.Pointer:
                Append('*');
                return;
            case NodeKind.ReferenceThis:
                Append(" &");
                return;
            case NodeKind.Reference:
                Append('&');
                return;
            case NodeKind.RvalueReferenceThis:
                Append(" &&");
                return;
            case NodeKind.RvalueReference:
                Append("&&");
                return;
            case NodeKind.Complex:
                Append(" _Complex");
                return;
            case NodeKind.Imaginary:
                Append(" _Imaginary");
                return;
            case NodeKind.PointerToMemberType:
                if (_lastChar != '(')
                {
                    Append(' ');
                }

                PrintNode(modifier.Left);
                Append("::*");
                return;
            case NodeKind.TypedName:
                PrintNode(modifier.Left);
                return;
            case NodeKind.VectorType:
                Append(" __vector(");
                PrintNode(modifier.Left);
                Append(')');
                return;
            default:
                PrintNode(modifier);
                return;
        }
    }

    /// <summary>Everything of a function type but its return type: "(*name)(params) const".</summary>
    private void PrintFunctionSignature(Node function, Modifier? modifiers)
    {
        bool needParen = false;
        bool needSpace = false;
        for (var current = modifiers; current is not null && !current.Printed; current = current.Next)
        {
            switch (current.Node.Kind)
            {
                case NodeKind.Pointer or NodeKind.Reference or NodeKind.RvalueReference:
                    needParen = true;
                    break;
                case NodeKind.Restrict or NodeKind.Volatile or NodeKind.Const or NodeKind.VendorTypeQualifier
                    or NodeKind.Complex or NodeKind.Imaginary or NodeKind.PointerToMemberType:
                    needSpace = true;
                    needParen = true;
                    break;
            }

            if (needParen)
            {
                break;
            }
        }

        if (needParen)
        {
            if (!needSpace && _lastChar != '(' && _lastChar != '*')
            {
                needSpace = true;
            }

            if (needSpace && _lastChar != ' ')
            {
                Append(' ');
            }

            Append('(');
        }

        var savedModifiers = _modifiers;
        _modifiers = null;
        PrintModifierList(modifiers, suffix: false);
        if (needParen)
        {
            Append(')');
        }

        Append('(');
        if (function.Right is not null)
        {
            PrintNode(function.Right);
        }

        Append(')');
        PrintModifierList(modifiers, suffix: true);
        _modifiers = savedModifiers;
    }

    /// <summary>Everything of an array type but its element type: " (&amp;) [3]".</summary>
    private void PrintArrayDimension(Node array, Modifier? modifiers)
    {
        bool needSpace = true;
        if (modifiers is not null)
        {
            bool needParen = false;
            for (var current = modifiers; current is not null; current = current.Next)
            {
                if (current.Printed)
                {
                    continue;
                }

                if (current.Node.Kind == NodeKind.ArrayType)
                {
                    needSpace = false;
                }
                else
                {
                    needParen = true;
                }

                break;
            }

            if (needParen)
            {
                Append(" (");
            }

            PrintModifierList(modifiers, suffix: false);
            if (needParen)
            {
                Append(')');
            }
        }

        if (needSpace)
        {
            Append(' ');
        }

        Append('[');
        if (array.Left is not null)
        {
            PrintNode(array.Left);
        }

        Append(']');
    }
}
