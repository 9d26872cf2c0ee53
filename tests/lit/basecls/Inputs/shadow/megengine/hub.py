# an -I directory's megengine/hub.py is found before the standard library's
print("the -I hub")


def pretrained(url):
    def deco(fn):
        return fn
    return deco
