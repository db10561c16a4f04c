class BybitApi:
    def __init__(self, emu):
        self.emu = emu

    def routes(self):
        return []
