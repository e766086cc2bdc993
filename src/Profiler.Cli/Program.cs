using Profiler.Cli;
using Profiler.Collectors.Linux.Inject;

if (args is [RemoteLoaderProcess.Verb, .. var load]) return RemoteLoaderProcess.Run(load, Console.Out);
if (args is [Profiler.Collectors.Linux.Bpf.ProbeGuard.Verb]) return Profiler.Collectors.Linux.Bpf.ProbeGuard.Main();
return await MemprofCli.RunAsync(args, Console.Out, Console.Error);
