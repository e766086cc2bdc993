using Profiler.Cli;
using Profiler.Collectors.Linux.Inject;

if (args is [RemoteLoaderProcess.Verb, .. var load]) return RemoteLoaderProcess.Run(load, Console.Out);
return await MemprofCli.RunAsync(args, Console.Out, Console.Error);
